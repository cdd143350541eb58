// The embed page's copy button: copies its textarea and says so. The selection-based copy
// works on plain http too, where navigator.clipboard does not exist.
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  button.addEventListener("click", function () {
    var source = document.getElementById(button.dataset.copyTarget);
    var status = button.parentElement.querySelector("[data-copy-status]");
    source.focus();
    source.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    status.textContent = copied ? "Copied." : "Selected: press Ctrl+C (or ⌘C) to copy.";
  });
});
