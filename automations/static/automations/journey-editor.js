// The journey block editor: next to an email step's "Content from the campaign builder" select,
// links to open the chosen draft in the campaign builder and to preview it; the condition's
// "Email step key" offers the keys of the email steps on the page as they are now.
(() => {
  const data = document.getElementById("journey-editor-data");
  if (!data) return;
  const url = (template, id) => template.replace(/\/0\/$/, `/${id}/`);

  const links = (select) => {
    let box = select.parentElement.querySelector(".journey-content-links");
    if (!box) {
      box = document.createElement("p");
      box.className = "journey-content-links help";
      select.after(box);
    }
    box.replaceChildren();
    if (!select.value) return;
    for (const [label, template] of [
      ["Open in the campaign builder", data.dataset.editUrl],
      ["Preview", data.dataset.previewUrl],
    ]) {
      const link = document.createElement("a");
      link.href = url(template, select.value);
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = label;
      link.className = "button button-small button-secondary w-mr-2";
      box.append(link);
    }
  };
  const contentSelects = () => document.querySelectorAll('select[name$="-value-content"]');
  const refresh = () => contentSelects().forEach((select) => {
    if (!select.parentElement.querySelector(".journey-content-links")) links(select);
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches('select[name$="-value-content"]')) links(event.target);
  });
  new MutationObserver(refresh).observe(document.body, { childList: true, subtree: true });
  refresh();

  // Keys saved with the journey are in the datalist already; add those typed since.
  document.addEventListener("focusin", (event) => {
    if (!event.target.matches('input[list="journey-email-keys"]')) return;
    const list = document.getElementById("journey-email-keys");
    const keys = new Set([...list.options].map((option) => option.value));
    document.querySelectorAll('input[type="hidden"][name$="-type"][value="email"]').forEach((type) => {
      const prefix = type.name.slice(0, -"-type".length);
      const deleted = document.querySelector(`[name="${prefix}-deleted"]`);
      const key = document.querySelector(`[name="${prefix}-value-key"]`);
      if (key && key.value && !(deleted && deleted.value)) keys.add(key.value);
    });
    list.replaceChildren(...[...keys].sort().map((key) => new Option("", key)));
  });
})();
