// dom.js — tiny DOM helpers shared by the pages. Builds nodes with textContent only
// (never innerHTML), so names typed by users can never become markup.

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** el('button', {class: 'small', type: 'button', dataset: {id}}, 'text', childNode) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'onclick') node.addEventListener('click', v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

/** Put text in an aria-live status node; kind is '', 'ok' or 'error'. */
export function setStatus(node, text, kind = '') {
  if (!node) return;
  node.textContent = text || '';
  node.classList.remove('ok', 'error');
  if (kind) node.classList.add(kind);
}

/** RFC 3339 -> local date and time for people, with the UTC time in a title. */
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso || '');
  return d.toLocaleString(document.documentElement.lang || undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Copy text to the clipboard; falls back to selecting the input for Ctrl+C. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_e) {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand('copy');
      } catch (_e2) {
        return false;
      }
    }
    return false;
  }
}
