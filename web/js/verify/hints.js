// Fix-it hints for the failure classes a person can act on: the hints `sworn-verify`
// prints (src/verify_cli.rs `hints`), worded for this page's fields instead of flags.
// Presentation only: it must never change a verdict.

/** Distinct hints for a report's failures, in the order sworn-verify gives them. */
export function hints(report) {
  const out = [];
  const add = (h) => { if (!out.includes(h)) out.push(h); };
  if (report.verdict === 'valid_key_not_pinned' && report.key_fingerprint) {
    add(`no key was pinned: the bundle is consistent with its own key ${report.key_fingerprint}, which anyone can make; compare it with the court's published key and pin it under "Pin the court's published keys"`);
  }
  for (const c of report.checks) {
    const e = c.error;
    if (!e) continue;
    switch (e.code) {
      case 'UnknownKey':
        add(`the bundle is signed by ${e.fingerprint}, not by the key you pinned; ask the court which key it publishes before trusting this bundle`);
        break;
      case 'ManifestHashMismatch':
      case 'Sha256SumsMismatch':
        add('a file changed after the bundle was made; `sha256sum -c SHA256SUMS` on the unpacked bundle shows which');
        break;
      case 'MissingFile':
      case 'ExtraFile':
        add("the bundle's files differ from its manifest; download the bundle again or get a fresh copy");
        break;
      case 'TimestampInvalid':
        add("if the court's TSA certificate is known, pin it under \"Pin the court's published keys\" to check tokens against it");
        break;
      case 'ReadFailed':
        add('a file of the bundle could not be read; download the bundle again');
        break;
      default:
    }
  }
  return out;
}
