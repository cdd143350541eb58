/*
 * The campaign editor's recipient count follows the ticked lists and segments before the
 * campaign is saved. Runs once the page is parsed (the admin loads scripts in <head>).
 */
(() => {
    const NAMES = ["include_lists", "include_segments", "exclude_lists", "exclude_segments"];

    function start() {
        const target = document.getElementById("recipient-count");
        const form = document.getElementById("w-editor-form");
        if (!target || !form) return;
        let asked = 0;
        form.addEventListener("change", async (event) => {
            if (!NAMES.includes(event.target.name)) return;
            const query = new URLSearchParams();
            for (const name of NAMES) {
                form.querySelectorAll(`input[name="${name}"]:checked`).forEach((box) => query.append(name, box.value));
            }
            const mine = ++asked;
            try {
                const response = await fetch(`${target.dataset.url}?${query}`, {credentials: "same-origin"});
                const data = await response.json();
                if (mine === asked && data.count !== undefined) target.textContent = data.count;
            } catch (error) {
                // The saved count stays shown; the next change asks again.
            }
        });
    }

    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
