// Fills a key's text box from a chosen file, so an admin can pick the downloaded key file
// instead of pasting it. The file never leaves the browser except in the form itself.
document.querySelectorAll("input[type=file][data-fills]").forEach(function (picker) {
  picker.addEventListener("change", function () {
    var target = document.getElementById(picker.dataset.fills);
    var file = picker.files && picker.files[0];
    if (!target || !file) return;
    if (file.size > 65536) { target.value = ""; picker.setCustomValidity("That file is too large to be a key file."); picker.reportValidity(); return; }
    picker.setCustomValidity("");
    file.text().then(function (text) { target.value = text; });
  });
});
