// Small DOM helpers: every piece of text goes in through textContent, never as HTML.

/** h("div", {class: "x", on: {click}}, "text", child) -> element. Attributes starting with aria-/data- and
 *  a few others are set as attributes; the rest as properties. Strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (/^(aria-|data-|role$|for$|tabindex$|title$|type$|name$|list$|loading$|decoding$|hidden$)/.test(key))
      el.setAttribute(key, value === true ? "" : String(value));
    else el[key] = value;
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function formatCount(n) {
  if (typeof n !== "number" || !isFinite(n)) return "0";
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1).replace(/\.0$/, "") + "M";
  if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1).replace(/\.0$/, "") + "k";
  return String(n);
}

export function formatBytes(n) {
  if (typeof n !== "number" || !isFinite(n) || n < 0) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(n >= 100 ? 0 : 1)) + " " + units[i];
}

export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return "–";
  seconds = Math.round(seconds);
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
}

export function formatDate(value) {
  if (!value) return "";
  const d = new Date(value);
  return isNaN(d) ? String(value) : d.toISOString().slice(0, 10);
}

/** The last path part of a local path, for labels (full path in the title). */
export function baseName(path) {
  return String(path || "").split(/[\\/]/).filter(Boolean).pop() || "";
}

/** A one-line message for the UI: the server's own sentence, never a stack. */
export function oneLine(error) {
  const text = (error && (error.message || String(error))) || "Something went wrong.";
  return text.split("\n")[0].slice(0, 300);
}

/** Keyboard activation for non-button elements that act like buttons. */
export function onActivate(el, fn) {
  el.addEventListener("click", fn);
  el.addEventListener("keydown", (event) => {
    if ((event.key === "Enter" || event.key === " ") && event.target === el) {
      event.preventDefault();
      fn(event);
    }
  });
}
