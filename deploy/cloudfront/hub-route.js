import cf from 'cloudfront';

// hub's viewer-request function for the distribution's /c/* behaviour
// (JavaScript runtime 2.0, with the KeyValueStore `hub publish -cdn-kvs`
// writes associated). docs/deploy.md says how to set it up.
//
// CloudFront has checked the signed cookies before this runs: the policy the
// edge signed names exactly https://CDN/c/<client>/*, so the client in the
// URI is the one the viewer may read. This function only finds the bundle:
//
//   GET /c/<client>/<path>  → the bucket's paths/<client>/<bundle key>/<path>
//                             (<path>/ and "" name index.html)
//   POST and other methods, Stripe's return page (/c/<client>/paid/…), a
//   subscription's (/c/<client>/subscribed/…) and the unread count
//   (/c/<client>/messages/unread) → the edge's origin, unchanged
//
// The route is one key per client, switched by one write when a build is
// published, so a viewer sees the client's old bundle or its new one.

// The origin ID of hub edge in the distribution (Origins → the edge).
const EDGE_ORIGIN = 'hub-edge';

const kvs = cf.kvs();

// As site.ValidID: a client ID is a URL path segment.
const CLIENT = /^\/c\/([a-z0-9][a-z0-9-]{0,62})(\/.*)?$/;
const EDGE_GET = /^\/(paid|subscribed)\/|^\/messages\/unread$/;

function answer(code, description, headers) {
  const h = { 'cache-control': { value: 'no-store' } };
  for (const k in headers || {}) h[k] = { value: headers[k] };
  return { statusCode: code, statusDescription: description, headers: h };
}

// The checks the edge makes of a path in a bundle (edge/serve.go's
// cleanBundlePath): no encoded slash, backslash, NUL or dot, no dot
// segment or dotfile, no empty segment.
function cleanPath(rest) {
  if (/%(2f|5c|00|2e)/i.test(rest) || rest.indexOf('\\') >= 0) return false;
  const segs = rest.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    if (s === '' && i !== segs.length - 1) return false;
    if (s.charAt(0) === '.') return false;
  }
  return true;
}

function query(qs) {
  const parts = [];
  for (const k in qs) {
    const v = qs[k];
    const vals = v.multiValue ? v.multiValue.map((m) => m.value) : [v.value];
    for (const x of vals) parts.push(k + (x === '' ? '' : '=' + x));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

async function handler(event) {
  const req = event.request;
  const m = CLIENT.exec(req.uri);
  if (!m) return answer(404, 'Not Found');
  const client = m[1];
  let rest = m[2];
  if (rest === undefined) {
    return answer(301, 'Moved Permanently', { location: '/c/' + client + '/' + query(req.querystring) });
  }
  if ((req.method !== 'GET' && req.method !== 'HEAD') || EDGE_GET.test(rest)) {
    cf.selectRequestOriginById(EDGE_ORIGIN);
    return req;
  }
  if (!cleanPath(rest)) return answer(400, 'Bad Request');
  const last = rest.slice(rest.lastIndexOf('/') + 1);
  if (last !== '' && last.indexOf('.') < 0) {
    // A folder without its slash, as the edge answers it.
    return answer(301, 'Moved Permanently', { location: req.uri + '/' + query(req.querystring) });
  }
  if (last === '') rest += 'index.html';
  let key;
  try {
    key = await kvs.get(client);
  } catch (e) {
    return answer(404, 'Not Found'); // no published bundle for this client
  }
  req.uri = '/paths/' + client + '/' + key + rest;
  return req;
}
