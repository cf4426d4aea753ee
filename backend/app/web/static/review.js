/* Interview Kiosk review page: the answer players (speed, click a word to hear it) and the
 * review form, saved with the page's CSRF token. No framework, no build step; the page works
 * as plain HTML, and this adds what HTML alone cannot. */
(function () {
  "use strict";

  const sheet = document.querySelector(".review-sheet");
  if (!sheet) return;
  const interviewId = sheet.dataset.interview;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // ---- players ----

  sheet.addEventListener("click", function (event) {
    const speed = event.target.closest("button.speed");
    if (speed) {
      const question = speed.closest(".question");
      const audio = question.querySelector("audio");
      audio.playbackRate = Number(speed.dataset.speed);
      for (const button of question.querySelectorAll("button.speed")) {
        button.setAttribute("aria-pressed", String(button === speed));
      }
      return;
    }
    const word = event.target.closest("button.word");
    if (word) {
      const audio = word.closest(".question").querySelector("audio");
      audio.currentTime = Number(word.dataset.start);
      audio.play().catch(function () { /* the reviewer can press play */ });
    }
  });

  // While an answer plays, the word being spoken is marked, so reading follows listening.
  for (const audio of sheet.querySelectorAll("audio")) {
    const words = Array.from(audio.closest(".question").querySelectorAll("button.word"));
    if (!words.length) continue;
    audio.addEventListener("timeupdate", function () {
      let current = null;
      for (const word of words) {
        if (Number(word.dataset.start) <= audio.currentTime) current = word;
        else break;
      }
      for (const word of words) word.classList.toggle("speaking", word === current);
    });
  }

  // ---- the review (not on a shared link's page) ----

  const form = document.getElementById("review-form");
  if (!form) return;
  const status = document.getElementById("form-status");

  function collect(submit) {
    const ratings = [];
    for (const question of form.querySelectorAll(".question")) {
      const index = Number(question.dataset.index);
      const chosen = question.querySelector('input[type="radio"]:checked');
      if (!chosen) continue;
      const comment = question.querySelector("textarea");
      ratings.push({ question_index: index, rating: Number(chosen.value),
                     comment: comment ? comment.value : "" });
    }
    const recommendation = form.querySelector('input[name="recommendation"]:checked');
    return {
      ratings: ratings,
      recommendation: recommendation ? recommendation.value : null,
      notes: document.getElementById("notes").value,
      submit: submit,
    };
  }

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind || "";
  }

  async function save(submit) {
    say(submit ? "Submitting…" : "Saving…");
    for (const button of form.querySelectorAll(".form-actions button")) button.disabled = true;
    try {
      const response = await fetch("/review/interviews/" + interviewId + "/review", {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(collect(submit)),
      });
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON: said below */ }
      if (!response.ok) {
        const detail = body && typeof body.detail === "string" ? body.detail
          : "The review could not be saved (" + response.status + ")";
        say(detail, "error");
        return;
      }
      if (submit) {
        // The others' ratings are now yours to see: show the page as it now stands.
        window.location.reload();
        return;
      }
      const when = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      say("Draft saved " + when + ".");
    } catch (_) {
      say("The server could not be reached: your review is not saved yet. Try again.", "error");
    } finally {
      for (const button of form.querySelectorAll(".form-actions button")) button.disabled = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save(true);
  });
  const saveDraft = document.getElementById("save-draft");
  if (saveDraft) saveDraft.addEventListener("click", function () { save(false); });

  // ---- share links ----

  const shareStatus = document.getElementById("share-status");
  const shareUrl = document.getElementById("share-url");

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    let answer = null;
    try { answer = await response.json(); } catch (_) { /* said below */ }
    if (!response.ok) {
      throw new Error(answer && typeof answer.detail === "string" ? answer.detail
        : "The server said no (" + response.status + ")");
    }
    return answer;
  }

  document.getElementById("make-link").addEventListener("click", async function () {
    shareStatus.textContent = "Making a link…";
    shareStatus.dataset.kind = "";
    try {
      const link = await post("/review/interviews/" + interviewId + "/share-links", { days: 7 });
      shareUrl.textContent = link.url;
      shareUrl.hidden = false;
      shareStatus.textContent = "Copy this link now: it is shown only once.";
    } catch (error) {
      shareStatus.textContent = error.message;
      shareStatus.dataset.kind = "error";
    }
  });

  sheet.addEventListener("click", async function (event) {
    const revoke = event.target.closest("button.revoke-link");
    if (!revoke) return;
    revoke.disabled = true;
    try {
      await post("/review/share-links/" + revoke.dataset.link + "/revoke");
      window.location.reload();
    } catch (error) {
      shareStatus.textContent = error.message;
      shareStatus.dataset.kind = "error";
      revoke.disabled = false;
    }
  });
})();
