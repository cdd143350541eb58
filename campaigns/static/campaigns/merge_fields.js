// The editor's merge-field picker. A click inserts the field at the cursor of the text field
// used last; rich text (a contenteditable editor) keeps its own state, so there it is copied.
(() => {
    const picker = document.getElementById("merge-fields");
    if (!picker) return;
    const status = document.getElementById("merge-status");
    const fallback = document.getElementById("merge-default");
    let target = null;

    document.addEventListener("focusin", (event) => {
        const element = event.target;
        if (picker.contains(element)) return;
        const isText = element.matches("textarea, input[type=text], input:not([type])");
        target = isText && element.form ? element : element.isContentEditable ? "rich" : target;
    });

    const tagFor = (expression) => {
        const empty = fallback.value.replace(/["{}%]/g, "").trim();
        return `{{ ${expression}${empty ? `|default:"${empty}"` : ""} }}`;
    };

    const copy = (tag) => {
        const done = () => { status.textContent = `Copied ${tag}: paste it where it belongs.`; };
        if (navigator.clipboard) {
            navigator.clipboard.writeText(tag).then(done, () => { status.textContent = `Copy this: ${tag}`; });
        } else {
            status.textContent = `Copy this: ${tag}`;
        }
    };

    picker.addEventListener("click", (event) => {
        const button = event.target.closest("[data-merge-field]");
        if (!button) return;
        const tag = tagFor(button.dataset.mergeField);
        if (target instanceof HTMLElement && document.contains(target)) {
            target.focus();
            target.setRangeText(tag, target.selectionStart, target.selectionEnd, "end");
            target.dispatchEvent(new Event("input", { bubbles: true }));
            status.textContent = `Inserted ${tag}.`;
        } else {
            copy(tag);
        }
    });
})();
