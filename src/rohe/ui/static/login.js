// Carry ?next= into the form so signing in returns to the page that asked for it.
(function () {
  var next = new URLSearchParams(window.location.search).get("next");
  if (next && next.indexOf("/ui") === 0) document.getElementById("next").value = next;
})();
