/**
 * `/assets/login.js`: when the page is opened as `/login#token=…` (the link
 * a daemon prints once), fills the form with the token, removes it from the
 * address bar and history, and submits. The fragment never reaches the server.
 */
export const LOGIN_JS = `"use strict";
(function () {
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, "", location.pathname + location.search);
  var form = document.getElementById("login-form");
  var input = document.getElementById("token");
  if (!form || !input) return;
  try {
    input.value = decodeURIComponent(match[1]);
  } catch (e) {
    return;
  }
  form.submit();
})();
`;
