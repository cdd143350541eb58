// Inputs that third-party widgets build without a name a screen reader can read out: Wagtail's
// tag field (jQuery tag-it) and Draftail's rich-text editors. Each gets its field's own label.
(() => {
  const SELECTOR = ".tagit input.ui-autocomplete-input, [role='textbox'][contenteditable='true']";

  const fieldLabel = (control) => {
    const field = control.closest(".w-field, [data-field], .w-panel__wrapper, [data-contentpath]");
    const label = field && field.querySelector("label, .w-field__label, legend");
    const text = label ? label.textContent.trim().replace(/\s*\*$/, "") : "";
    return text || (control.matches(".ui-autocomplete-input") ? "Tags" : "Text");
  };

  const name = (root) => {
    root.querySelectorAll(SELECTOR).forEach((control) => {
      if (!control.hasAttribute("aria-label") && !control.hasAttribute("aria-labelledby") && !control.labels?.length) {
        control.setAttribute("aria-label", fieldLabel(control));
      }
    });
  };

  const start = () => {
    name(document);
    new MutationObserver(() => name(document)).observe(document.body, { childList: true, subtree: true });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
