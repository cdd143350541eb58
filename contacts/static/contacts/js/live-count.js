/*
 * Live count of the contacts matching segment rules, while they are edited.
 *
 *   <strong data-live-count data-count-url="/admin/…/segment-count/" data-rules-field="[name=rules]"
 *           data-error="#segment-count-error">123</strong>
 *
 * The rules are read from the rules field (the JSON the form will save) whenever that field
 * sends an "input" or "change" event: typing in it, or a builder that writes the JSON into it
 * and dispatches one of those events (bubbling). The count is asked for after a short pause,
 * and an answer that arrives after a newer question is dropped. Listening on the document
 * means the field may be created, or replaced, after this script ran.
 * RapportLiveCount.refresh(element) recounts at once.
 */
(() => {
    const PAUSE_MS = 400;

    function csrfToken() {
        const field = document.querySelector("[name=csrfmiddlewaretoken]");
        if (field) return field.value;
        const cookie = document.cookie.split("; ").find((item) => item.startsWith("csrftoken="));
        return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
    }

    async function refresh(output) {
        const rules = document.querySelector(output.dataset.rulesField || "[name=rules]");
        const problem = output.dataset.error ? document.querySelector(output.dataset.error) : null;
        if (!rules) return;
        const asked = (output.rapportAsked || 0) + 1;
        output.rapportAsked = asked;
        output.setAttribute("aria-busy", "true");
        let data;
        try {
            const response = await fetch(output.dataset.countUrl, {
                method: "POST",
                credentials: "same-origin",
                headers: {"X-CSRFToken": csrfToken(), "Content-Type": "application/json"},
                body: rules.value.trim() || "{}",
            });
            data = await response.json();
        } catch (error) {
            data = {error: "the count could not be fetched"};
        }
        if (asked !== output.rapportAsked) return;
        output.removeAttribute("aria-busy");
        if (problem) problem.textContent = data.error || "";
        if (data.count !== undefined) output.textContent = data.count;
    }

    function attach(output) {
        const selector = output.dataset.rulesField || "[name=rules]";
        let timer;
        const later = (event) => {
            if (!(event.target instanceof Element) || !event.target.matches(selector)) return;
            clearTimeout(timer);
            timer = setTimeout(() => refresh(output), PAUSE_MS);
        };
        document.addEventListener("input", later);
        document.addEventListener("change", later);
    }

    function start() {
        document.querySelectorAll("[data-live-count]").forEach(attach);
    }

    window.RapportLiveCount = {refresh};
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
