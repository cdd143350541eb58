// My day: every row's "Hand to…" list is filled from the one list of colleagues in the page
// when it is first used, so the page carries that list once instead of once per task.
(function () {
    "use strict";
    function fill(event) {
        var select = event.target;
        if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-colleagues")) {
            return;
        }
        select.removeAttribute("data-colleagues");
        var options = document.getElementById("rapport-colleagues");
        if (options) {
            select.appendChild(options.content.cloneNode(true));
        }
    }
    document.addEventListener("focusin", fill);
    document.addEventListener("pointerdown", fill);
})();
