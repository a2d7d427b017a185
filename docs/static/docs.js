/* The docs page: Swagger UI over /openapi.json, plus a job tracker.
 *
 * Swagger UI (served from the local swagger-ui-dist under /static/swagger-ui/)
 * renders the API and sends the "Try it out" requests. Its responseInterceptor
 * hands every 202 answer that carries a job to the tracker, which follows the
 * job with GET /<op>/status/<id>?wait=10 until it is complete or failed, then
 * shows the result: the image for image operations, the JSON for info (and
 * the boxes for diff). The tracker sends the API key entered with Authorize.
 * A requestInterceptor leaves out the form fields the user left empty.
 * The operations, and which of them answer an image, are read from the
 * document itself, so that a new operation needs no change here.
 * Plain browser JavaScript, no build step; all page text goes through
 * textContent, never innerHTML.
 */
(function () {
  'use strict';

  var JOB_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  var WAIT_S = 10;          /* long-poll length asked of the server (max_wait_s may be lower) */
  var MIN_POLL_MS = 1000;   /* never poll faster than this, whatever the server does */
  var MAX_FAILURES = 5;     /* network failures in a row before giving up */
  var EXTENSIONS = {
    'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp',
    'image/avif': 'avif', 'image/tiff': 'tiff', 'image/gif': 'gif'
  };

  /* The job being followed; `generation` grows with each new one so that an
   * older poll loop notices it has been replaced and stops. */
  var tracker = { generation: 0, id: null, controller: null, blobUrl: null };

  function $(id) {
    return document.getElementById(id);
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /* The credentials entered with Swagger UI's Authorize button. */
  function authHeaders() {
    var headers = {};
    try {
      var state = window.ui && window.ui.authSelectors.authorized();
      var auth = state && state.toJS ? state.toJS() : {};
      if (auth.bearerAuth && auth.bearerAuth.value)
        headers.Authorization = 'Bearer ' + auth.bearerAuth.value;
      if (auth.apiKeyHeader && auth.apiKeyHeader.value)
        headers['X-API-Key'] = auth.apiKeyHeader.value;
    } catch (e) {
      /* no Swagger UI state yet: no credentials */
    }
    return headers;
  }

  /* The document Swagger UI loaded (the server's own, generated from its
   * operation catalogue), or {} before it has. */
  function spec() {
    try {
      var json = window.ui && window.ui.specSelectors.specJson();
      return json && json.toJS ? json.toJS() : {};
    } catch (e) {
      return {};
    }
  }

  /* Is name one of the server's operations (schema OperationName)? */
  function isOperation(name) {
    var schemas = (spec().components || {}).schemas || {};
    var names = (schemas.OperationName || {}).enum || [];
    return names.indexOf(name) >= 0;
  }

  /* Does the operation's result route answer an image (else JSON)? */
  function hasImageResult(name) {
    var item = (spec().paths || {})['/' + name + '/{id}'] || {};
    var ok = ((item.get || {}).responses || {})['200'] || {};
    return Object.keys(ok.content || {}).some(function (type) {
      return type.indexOf('image/') === 0;
    });
  }

  function absolute(url) {
    return new URL(url, window.location.origin).toString();
  }

  /* ---- rendering ------------------------------------------------------ */

  function setMessage(text, isError) {
    var p = $('job-message');
    p.textContent = text || '';
    p.classList.toggle('is-error', !!isError);
  }

  function clearResult() {
    var box = $('job-result');
    while (box.firstChild)
      box.removeChild(box.firstChild);
    if (tracker.blobUrl) {
      URL.revokeObjectURL(tracker.blobUrl);
      tracker.blobUrl = null;
    }
  }

  function renderJob(job) {
    $('job-id-input').value = job.id || '';
    $('job-operation').textContent = job.operation || '–';
    var status = $('job-status');
    status.textContent = job.status || 'unknown';
    status.setAttribute('data-status', job.status || 'unknown');
    $('job-attempts').textContent = job.attempts === undefined ? '–' : String(job.attempts);
    var times = [];
    if (job.created_at) times.push('created ' + job.created_at);
    if (job.started_at) times.push('started ' + job.started_at);
    if (job.finished_at) times.push('finished ' + job.finished_at);
    $('job-times').textContent = times.length ? times.join(', ') : '–';
  }

  function appendJson(title, value) {
    var box = $('job-result');
    var h = document.createElement('h3');
    h.textContent = title;
    var pre = document.createElement('pre');
    pre.className = 'job-json';
    pre.textContent = JSON.stringify(value, null, 2);
    box.appendChild(h);
    box.appendChild(pre);
    return pre;
  }

  function appendImage(job, blob, type) {
    var box = $('job-result');
    tracker.blobUrl = URL.createObjectURL(blob);
    var figure = document.createElement('figure');
    var img = document.createElement('img');
    img.className = 'job-image';
    img.alt = job.operation + ' result of job ' + job.id;
    img.src = tracker.blobUrl;
    img.addEventListener('error', function () {
      setMessage('This browser cannot show ' + type + ' images; use the download link.', false);
      img.hidden = true;
    });
    var caption = document.createElement('figcaption');
    var r = job.result || {};
    caption.textContent = (r.width && r.height ? r.width + ' × ' + r.height + ', ' : '') +
      (r.format || type) + ', ' + blob.size + ' bytes ';
    var link = document.createElement('a');
    link.href = tracker.blobUrl;
    link.download = job.id + '.' + (EXTENSIONS[type] || 'bin');
    link.textContent = 'download';
    caption.appendChild(link);
    figure.appendChild(img);
    figure.appendChild(caption);
    box.appendChild(figure);
  }

  /* ---- following a job ------------------------------------------------ */

  async function fetchJson(url, signal) {
    var res = await fetch(absolute(url), { headers: authHeaders(), signal: signal });
    var body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { res: res, body: body };
  }

  function errorText(res, body) {
    if (body && body.error && body.error.code)
      return res.status + ' ' + body.error.code + ': ' + (body.error.message || '');
    return 'HTTP ' + res.status;
  }

  async function showResult(job, signal) {
    clearResult();
    if (!hasImageResult(job.operation)) {
      appendJson('Result', job.result);
      setMessage('Complete.', false);
      return;
    }
    var res = await fetch(absolute(job.result_url), { headers: authHeaders(), signal: signal });
    if (!res.ok) {
      var body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      setMessage('Result: ' + errorText(res, body), true);
      return;
    }
    var type = (res.headers.get('Content-Type') || '').split(';')[0].trim();
    var blob = await res.blob();
    appendImage(job, blob, type);
    if (job.operation === 'diff' && job.result)
      appendJson('Changed regions', { boxes: job.result.boxes, changed_ratio: job.result.changed_ratio });
    setMessage('Complete.', false);
  }

  function isFinal(status) {
    return status === 'complete' || status === 'failed';
  }

  /* Polls the job's status URL until the job is final, the job is replaced by
   * another, or the server answers an error. */
  async function follow(job) {
    stop();
    var generation = ++tracker.generation;
    var controller = new AbortController();
    tracker.controller = controller;
    tracker.id = job.id;
    clearResult();
    renderJob(job);
    setMessage('Following job ' + job.id + '…', false);

    var statusUrl = job.status_url || ('/' + job.operation + '/status/' + job.id);
    var failures = 0;
    var waitS = WAIT_S;
    try {
      while (generation === tracker.generation) {
        var started = Date.now();
        var answer;
        try {
          answer = await fetchJson(statusUrl + '?wait=' + waitS, controller.signal);
        } catch (e) {
          if (controller.signal.aborted)
            return;
          if (++failures > MAX_FAILURES) {
            setMessage('Gave up: ' + e.message, true);
            return;
          }
          await sleep(MIN_POLL_MS * failures);
          continue;
        }
        if (generation !== tracker.generation)
          return;
        if (answer.res.status === 400 && waitS > 0) {
          waitS = 0; /* a server whose max_wait_s is below WAIT_S: plain polling */
          continue;
        }
        if (!answer.res.ok || !answer.body) {
          setMessage('Status: ' + errorText(answer.res, answer.body), true);
          return;
        }
        failures = 0;
        var current = answer.body;
        renderJob(current);
        if (current.status === 'complete') {
          await showResult(current, controller.signal);
          return;
        }
        if (current.status === 'failed') {
          var err = current.error || {};
          setMessage('Failed: ' + (err.code || 'error') + ': ' + (err.message || ''), true);
          return;
        }
        var elapsed = Date.now() - started;
        if (elapsed < MIN_POLL_MS)
          await sleep(MIN_POLL_MS - elapsed);
      }
    } catch (e) {
      if (!controller.signal.aborted)
        setMessage('Error: ' + e.message, true);
    } finally {
      if (tracker.controller === controller)
        tracker.controller = null;
    }
  }

  function stop() {
    if (tracker.controller) {
      tracker.controller.abort();
      tracker.controller = null;
      setMessage('Stopped.', false);
    }
  }

  /* A job id typed into the panel: find its operation with GET /jobs/<id>,
   * then follow it. */
  async function followById(id) {
    if (!JOB_ID_RE.test(id)) {
      setMessage('A job id is a lowercase UUID such as 3f2b8c1e-9a4d-4e7b-8c21-5d6e7f809a1b.', true);
      return;
    }
    try {
      var answer = await fetchJson('/jobs/' + id);
      if (!answer.res.ok || !answer.body) {
        setMessage('Job: ' + errorText(answer.res, answer.body), true);
        return;
      }
      if (isFinal(answer.body.status)) {
        stop();
        tracker.generation++;
        tracker.id = answer.body.id;
        clearResult();
        renderJob(answer.body);
        if (answer.body.status === 'complete')
          await showResult(answer.body);
        else
          setMessage('Failed: ' + ((answer.body.error || {}).code || 'error') + ': ' +
                     ((answer.body.error || {}).message || ''), true);
        return;
      }
      follow(answer.body);
    } catch (e) {
      setMessage('Error: ' + e.message, true);
    }
  }

  /* ---- Swagger UI hook ------------------------------------------------ */

  function jobFromResponse(res) {
    if (!res || res.status !== 202)
      return null;
    var body = res.body !== undefined ? res.body : res.obj;
    if ((!body || typeof body !== 'object') && typeof res.text === 'string') {
      try {
        body = JSON.parse(res.text);
      } catch (e) {
        return null;
      }
    }
    if (!body || typeof body !== 'object' || !JOB_ID_RE.test(body.id || '') ||
        !isOperation(body.operation))
      return null;
    return body;
  }

  /* Swagger UI sends a form field the user cleared as an empty string, which
   * the API rightly rejects as an invalid value: leave such fields out, as a
   * hand-written request would. Files and non-empty values pass unchanged. */
  function withoutEmptyFields(body) {
    if (!body || typeof body.entries !== 'function' || typeof body.append !== 'function')
      return body;
    var kept = new FormData();
    var dropped = false;
    var entries = Array.from(body.entries());
    for (var i = 0; i < entries.length; i++) {
      if (typeof entries[i][1] === 'string' && entries[i][1] === '')
        dropped = true;
      else
        kept.append(entries[i][0], entries[i][1]);
    }
    return dropped ? kept : body;
  }

  /* Swagger UI fills every field of a form body with a sample made from its
   * schema (an integer's maximum, a made-up URL for callback_url): sent as
   * they are, they would ask for what nobody chose (a 16384-pixel side, a
   * callback to a stranger). A field without a default or an example starts
   * empty instead, and so is left out of the request (withoutEmptyFields):
   * the server then applies its own default. Only the form's calls are
   * changed: (schema, no content type, {includeWriteOnly}), scalar schemas. */
  function EmptyFormSamples(system) {
    var sample = system.fn.getSampleSchema;
    return {
      fn: {
        getSampleSchema: function (schema, contentType, config) {
          var s = schema && typeof schema.toJS === 'function' ? schema.toJS() : schema;
          if (contentType === false && config && config.includeWriteOnly && s &&
              s.default === undefined && s.example === undefined && s.format !== 'binary' &&
              (s.type === 'integer' || s.type === 'number' || s.type === 'string'))
            return '';
          return sample.apply(this, arguments);
        }
      }
    };
  }

  function requestInterceptor(req) {
    try {
      req.body = withoutEmptyFields(req.body);
    } catch (e) {
      /* send the request as Swagger UI built it */
    }
    return req;
  }

  function responseInterceptor(res) {
    try {
      var job = jobFromResponse(res);
      /* A 202 from GET /<op>/<id> of the job already followed changes nothing. */
      if (job && !(job.id === tracker.id && tracker.controller))
        follow(job);
    } catch (e) {
      /* never break Swagger UI's own handling */
    }
    return res;
  }

  /* ---- page setup ----------------------------------------------------- */

  function setupPanel() {
    $('job-form').addEventListener('submit', function (event) {
      event.preventDefault();
      followById($('job-id-input').value.trim());
    });
    $('job-stop').addEventListener('click', stop);
    var toggle = $('job-panel-toggle');
    toggle.addEventListener('click', function () {
      var open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
      toggle.textContent = open ? 'Hide' : 'Show';
      $('job-panel-body').hidden = !open;
    });
  }

  function start() {
    setupPanel();
    if (typeof window.SwaggerUIBundle !== 'function') {
      setMessage('Swagger UI could not be loaded (is swagger-ui-dist installed under docs/node_modules?).', true);
      return;
    }
    window.ui = window.SwaggerUIBundle({
      url: '/openapi.json',
      dom_id: '#swagger-ui',
      deepLinking: true,
      docExpansion: 'list',
      defaultModelsExpandDepth: 0,
      displayRequestDuration: true,
      validatorUrl: null,
      presets: [window.SwaggerUIBundle.presets.apis],
      plugins: [EmptyFormSamples],
      layout: 'BaseLayout',
      requestInterceptor: requestInterceptor,
      responseInterceptor: responseInterceptor
    });
  }

  /* Exposed for the browser test and the curious. */
  window.imgDocs = { follow: follow, followById: followById, stop: stop };

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
