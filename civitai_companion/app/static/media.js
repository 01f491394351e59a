// Thumbnails: sized through the media route, loaded only when near the visible area (the browser's own
// loading="lazy" starts far too early for a page of 100 cards), blurred above the preview NSFW level.
import { mediaUrl, apiUrl } from "./api.js";
import { h } from "./dom.js";

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const img = entry.target;
    observer.unobserve(img);
    if (img.dataset.src) {
      img.src = img.dataset.src;
      delete img.dataset.src;
    }
  }
}, { rootMargin: "200px 0px" });

/** An <img> that gets its src when it comes within 200 px of the viewport. A video whose still the image
 *  service could not give falls back to the video's first frame (never played), then to a label. */
export function lazyImage(src, { alt = "", width, height, video = false } = {}) {
  const img = h("img", { alt, decoding: "async", width, height });
  img.dataset.src = src;
  img.addEventListener("error", () => img.replaceWith(video ? firstFrame(src) : placeholder("no preview")), { once: true });
  observer.observe(img);
  return img;
}

function placeholder(text) {
  return h("div", { class: "none", text });
}

function firstFrame(src) {
  const el = h("video", { muted: true, preload: "metadata", playsInline: true, disablePictureInPicture: true,
    "aria-label": "video preview" });
  el.addEventListener("error", () => el.replaceWith(placeholder("video")), { once: true });
  el.src = src;
  return el;
}

/** A Civitai picture at `width` CSS pixels (doubled for sharp screens, capped). */
export function civitaiImage(url, width, options) {
  const pixels = Math.min(Math.round(width * Math.min(window.devicePixelRatio || 1, 2)), 1024);
  return lazyImage(mediaUrl(url, pixels), options);
}

/** A local preview from the library index (`path` is relative to the API). */
export function localPreview(path, options) {
  return lazyImage(apiUrl(path), options);
}

/** Blurred unless every level bit of the picture is inside the preview mask (the server's rule too). */
export function shouldBlur(level, mask) {
  return Boolean((Number(level) || 1) & ~(Number(mask) || 1));
}

/** The thumbnail box: image (or "no preview"), blurred with a Show button above the preview NSFW level.
 *  `blur` is the server's verdict when it gave one. */
export function thumbBox({ url, nsfwLevel, blur, app, width = 320, alt = "", video = false, onReveal }) {
  const box = h("div", { class: "thumb" });
  box.append(url ? civitaiImage(url, width, { alt, video }) : placeholder("no preview"));
  const level = Number(nsfwLevel) || 1;
  const hidden = typeof blur === "boolean" ? blur : shouldBlur(level, app.settings && app.settings.preview_nsfw_level);
  if (url && hidden) {
    box.classList.add("blurred");
    box.dataset.nsfw = String(level);
    const reveal = h("button", {
      type: "button", class: "reveal", text: "NSFW · show", title: "Show this picture",
      on: {
        click: (event) => {
          event.stopPropagation();
          box.classList.remove("blurred");
          reveal.remove();
          if (onReveal) onReveal();
        },
      },
    });
    box.append(reveal);
  }
  return box;
}
