// dom — small helpers to build elements and format values; no state.

/** An HTML element: h('p', {class: 'x', onclick: fn}, 'text', child). Attributes
 * that are null, undefined or false are left out; true sets an empty one. */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false)
      continue;
    if (key === 'class')
      el.setAttribute('class', value);
    else if (key === 'style')
      el.style.cssText = value; // CSSOM, allowed under a CSP without 'unsafe-inline'
    else if (key === 'dataset')
      Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'selected')
      el[key] = value;
    else
      el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false)
      el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Ids unique in the page, for label/aria links. */
let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** 1021283 -> "997 KiB (1,021,283 bytes)" */
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n))
    return '–';
  const exact = `${n.toLocaleString('en')} bytes`;
  if (n < 1024)
    return exact;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]} (${exact})`;
}

/** An RFC 3339 time as the browser's local time, or "–". */
export function formatTime(iso) {
  if (!iso)
    return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Sends a message to the page's polite live region (screen readers). */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region)
    return;
  region.textContent = '';
  // a new text node in a later frame is read even when the text repeats
  requestAnimationFrame(() => { region.textContent = text; });
}
