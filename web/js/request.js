// request.js — how pages show the mutual-assistance request on record (#13 point 1):
// each State by its ISO 3166-1 name (the free text of an older hearing as it was
// entered), the central authorities with their references, the date of the request.
// Pure formatting over a hearing object from the API; never fetches, never decides.

/** A State as pages show it: its English name for a code, else the stored text. */
export function stateName(h, which) {
  return (h && (h[`${which}_state_name`] || h[`${which}_state`])) || '';
}

/** "Authority, reference" or just the authority; '' when the hearing has none. */
export function authority(h, which) {
  const a = h && h[`${which}_authority`];
  if (!a) return '';
  const r = h[`${which}_reference`];
  return r ? `${a}, ${r}` : a;
}

/**
 * The request as one line, through `t` (keys `request.line`, `request.line_date`):
 * "Request of <State> (<authority>, <reference>) to <State> (<authority>)[, dated <date>]".
 */
export function requestLine(h, t) {
  if (!h || !h.requesting_authority) return '';
  const vars = {
    from: authority(h, 'requesting'),
    from_state: stateName(h, 'requesting'),
    to: authority(h, 'requested') || '–',
    to_state: stateName(h, 'requested'),
    date: h.request_date || '',
  };
  return t(h.request_date ? 'request.line_date' : 'request.line', vars);
}
