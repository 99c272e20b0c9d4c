// Signalen: send the upload form with XMLHttpRequest to show how far the upload is.
// Without this file the form posts as usual; the server answers the same either way.
"use strict";

(function () {
  var STEP = 10; // announce every 10%, not every progress event

  function setUp() {
    var form = document.getElementById("upload");
    if (!form || !window.XMLHttpRequest || !window.FormData || form.dataset.voortgang) {
      return;
    }
    form.dataset.voortgang = "aan";
    form.addEventListener("submit", function (event) {
      var file = form.querySelector('input[type="file"]');
      var max = parseInt(form.dataset.maxBytes, 10);
      if (file && file.files.length && max && file.files[0].size > max) {
        event.preventDefault();
        say(form, "Het bestand is te groot: hoogstens " + form.dataset.maxMb + " MB.", true);
        file.focus();
        return;
      }
      event.preventDefault();
      send(form);
    });
  }

  function say(form, text, isError) {
    var status = form.querySelector("#u-status");
    status.textContent = isError ? "Fout: " + text : text;
    status.classList.toggle("fout-tekst", !!isError);
  }

  function send(form) {
    var data = new FormData(form);
    var button = form.querySelector('button[type="submit"]');
    var box = form.querySelector("#u-voortgang");
    var bar = form.querySelector("#u-progress");
    var told = 0; // "0%" is said when the upload starts
    var xhr = new XMLHttpRequest();

    function finish(text) {
      button.disabled = false;
      box.hidden = true;
      say(form, text, true);
    }

    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) {
        return;
      }
      var percent = Math.floor((event.loaded / event.total) * 100);
      bar.value = percent;
      bar.textContent = percent + "%";
      if (percent >= told + STEP && percent < 100) {
        told = percent - (percent % STEP);
        say(form, "Bezig met uploaden… " + percent + "%");
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server reads the file
      bar.textContent = "";
      say(form, "Bestand wordt verwerkt…");
    });
    xhr.addEventListener("load", function () {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL); // the import's report (or sign-in, when the session ended)
      } else if (type.indexOf("text/html") === 0) {
        show(xhr.responseText); // the upload page with what was wrong, or an error page
      } else if (xhr.status === 413) {
        finish("Het bestand is te groot: hoogstens " + form.dataset.maxMb + " MB.");
      } else {
        finish("Het inlezen is niet gelukt (status " + xhr.status + "). Probeer het opnieuw.");
      }
    });
    xhr.addEventListener("error", function () {
      finish("Het uploaden is mislukt. Controleer de verbinding en probeer het opnieuw.");
    });
    xhr.addEventListener("abort", function () {
      finish("Het uploaden is afgebroken.");
    });

    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    say(form, "Bezig met uploaden… 0%");
    xhr.send(data);
  }

  // The server's answer replaces this page; scripts in it do not run, so this one sets up the new form.
  function show(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
    setUp();
    var alert = document.querySelector('[role="alert"]');
    var target = alert || document.getElementById("inhoud");
    if (target) {
      if (!target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
