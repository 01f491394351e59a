// "Send" actions: the host's glue (A1111 prompt boxes, the ComfyUI graph) handles the event and calls
// preventDefault(); when nobody does (standalone), the text appears in a copy box instead.
import { h } from "./dom.js";

export const SEND_EVENT = "civitai-companion:send";

/** Dispatch the send event from `element`; show the copy box when no host handled it. */
export function send(element, { text, kind = "prompt", ref = {} }) {
  const event = new CustomEvent(SEND_EVENT, {
    bubbles: true, composed: true, cancelable: true, detail: { text, kind, ref: cleanRef(ref) },
  });
  const notHandled = element.dispatchEvent(event);
  if (notHandled) element.copyBox.show(text, kind);
  else element.toast(kind === "parameters" ? "Parameters sent." : kind === "resource" ? "Added to the workflow."
    : "Sent to the prompt.");
  return !notHandled;
}

/** What a card carries when dragged onto a host's canvas (ComfyUI turns it into a loader node). */
export const DRAG_TYPE = "application/x-civitai-companion";

/** Make `element` draggable as a resource: its reference as JSON, and as plain text for anything else. */
export function draggableResource(element, ref) {
  element.draggable = true;
  element.addEventListener("dragstart", (event) => {
    const clean = cleanRef(ref);
    event.dataTransfer.setData(DRAG_TYPE, JSON.stringify(clean));
    event.dataTransfer.setData("text/plain", clean.air || (clean.modelId ? `civitai:${clean.modelId}@${clean.versionId}` : ""));
    event.dataTransfer.effectAllowed = "copy";
  });
}

function cleanRef(ref) {
  const out = {};
  for (const key of ["modelId", "versionId", "air", "type", "fileName"]) {
    if (ref[key] !== undefined && ref[key] !== null) out[key] = ref[key];
  }
  return out;
}

/** A small top-layer box with the text selected and a Copy button. */
export class CopyBox {
  constructor(root) {
    this.root = root;
    this.label = h("div", { class: "small muted" });
    this.area = h("textarea", { readOnly: true, "aria-label": "Text to copy", rows: 4 });
    this.status = h("span", { class: "small muted", "aria-live": "polite" });
    this.copyButton = h("button", { type: "button", class: "primary", text: "Copy", on: { click: () => this.copy() } });
    this.el = h("div", { class: "copybox", popover: "manual", role: "dialog", "aria-label": "Copy text", "data-copybox": "" },
      this.label, this.area,
      h("div", { class: "row" }, this.copyButton, this.status, h("span", { class: "grow" }),
        h("button", { type: "button", text: "Close", on: { click: () => this.hide() } })));
    this.el.setAttribute("popover", "manual");
    this.el.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.stopPropagation(); event.preventDefault(); this.hide(); }
    });
  }

  show(text, kind) {
    const surface = this.root.querySelector("dialog[open]") || this.root.querySelector(".app");
    if (this.el.parentNode !== surface) {
      if (this.el.matches(":popover-open")) this.el.hidePopover();
      surface.append(this.el);
    }
    this.label.textContent = `No prompt box to send to here: copy the ${kind === "resource" ? "text" : kind}.`;
    this.area.value = text;
    this.status.textContent = "";
    if (!this.el.matches(":popover-open")) this.el.showPopover();
    this.area.focus();
    this.area.select();
  }

  hide() {
    if (this.el.isConnected && this.el.matches(":popover-open")) this.el.hidePopover();
  }

  async copy() {
    const text = this.area.value;
    try {
      await navigator.clipboard.writeText(text);
      this.status.textContent = "Copied.";
    } catch {
      this.area.select();
      this.status.textContent = document.execCommand && document.execCommand("copy") ? "Copied." : "Press Ctrl+C to copy.";
    }
  }
}
