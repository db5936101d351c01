// Fix-it hints for the failure classes a person can act on: the hints `sworn-verify`
// prints (src/verify_cli.rs `hints`), worded for this page's fields instead of flags,
// as catalogue keys (`verify.hint_*`) with their values, so they read in the page's
// language. Presentation only: it must never change a verdict.

/** Distinct hints for a report's failures, in the order sworn-verify gives them:
 * `[{key, vars}]`. */
export function hints(report) {
  const out = [];
  const add = (key, vars = {}) => {
    if (!out.some((h) => h.key === key && JSON.stringify(h.vars) === JSON.stringify(vars))) out.push({ key, vars });
  };
  if (report.verdict === 'valid_key_not_pinned' && report.key_fingerprint) {
    add('verify.hint_unpinned', { fp: report.key_fingerprint });
  }
  for (const c of report.checks) {
    const e = c.error;
    if (!e) continue;
    switch (e.code) {
      case 'UnknownKey':
        add('verify.hint_unknown_key', { fp: e.fingerprint });
        break;
      case 'ManifestHashMismatch':
      case 'Sha256SumsMismatch':
        add('verify.hint_changed');
        break;
      case 'MissingFile':
      case 'ExtraFile':
        add('verify.hint_files_differ');
        break;
      case 'TimestampInvalid':
        add('verify.hint_tsa');
        break;
      case 'ReadFailed':
        add('verify.hint_read_failed');
        break;
      default:
    }
  }
  return out;
}
