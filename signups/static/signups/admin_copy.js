// The embed page's copy button: copies its textarea and says so.
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  button.addEventListener("click", function () {
    var source = document.getElementById(button.dataset.copyTarget);
    var status = button.parentElement.querySelector("[data-copy-status]");
    navigator.clipboard.writeText(source.value).then(
      function () { status.textContent = "Copied."; },
      function () { source.select(); status.textContent = "Press Ctrl+C (or ⌘C) to copy."; }
    );
  });
});
