// `make demo`: Apache with the module + an OpenID provider (oidc-provider, https) + an echo
// backend, all on 127.0.0.1. Prints the browser URL with the test login (code flow: the provider's
// login form, then consent), and a curl line that gets a token from the provider
// (client_credentials) and calls the bearer-protected API. Ctrl-C stops everything.
//
// Environment: MODULE_SO (default build/mod_auth_openidc_rs.so), DEMO_PORT (Apache, default 8080
// or a free port if taken).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startApache } from '../integration/lib/apache.js';
import { startEcho } from '../integration/lib/echo.js';
import { getPki } from '../integration/lib/pki.js';
import { API_RESOURCE, CLIENTS, startProvider, TEST_USER } from '../integration/lib/provider.js';
import { freePort, MODULE_SO } from '../integration/lib/util.js';

const portFree = (port) => new Promise((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});

async function main() {
  if (!fs.existsSync(MODULE_SO)) throw new Error(`${MODULE_SO} does not exist: run make build`);
  const wanted = Number(process.env.DEMO_PORT || 8080);
  const port = (await portFree(wanted)) ? wanted : await freePort();
  const pki = getPki();
  const provider = await startProvider();
  const echo = await startEcho();
  const apache = await startApache({
    name: 'demo',
    port,
    site: 'demo',
    vars: {
      METADATA_URL: provider.discoveryUrl,
      CLIENT_ID: CLIENTS.web.id,
      CLIENT_SECRET: CLIENTS.web.secret,
      JWKS_URI: provider.jwksUrl,
      CA_BUNDLE: pki.caCert,
      PASSPHRASE: 'demo-passphrase-0123456789abcdef0123',
      ECHO: echo.url,
    },
    logLevel: 'info',
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping ...');
    await apache.stop();
    await Promise.all([echo.close(), provider.close()]);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  apache.proc.on('exit', () => { if (!stopping) { console.error('Apache exited'); stop(); } });

  const rel = (p) => { const r = path.relative(process.cwd(), p); return r && !r.startsWith('..') ? r : p; };
  const tokenCmd = `curl -s --cacert ${rel(pki.caCert)} -u ${CLIENTS.api.id}:${CLIENTS.api.secret} -d grant_type=client_credentials -d resource=${API_RESOURCE} -d 'scope=read write' ${provider.tokenUrl} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/'`;
  console.log(`
mod_auth_openidc_rs demo (module: ${rel(MODULE_SO)})

  Apache     http://127.0.0.1:${port}/app/   (AuthType openid-connect: browser login)
             http://127.0.0.1:${port}/api/   (AuthType oauth20, bearer tokens; /public/ is open)
  provider   ${provider.issuer}   (oidc-provider, test certificate: accept it in the browser)
  backend    ${echo.url}   (echoes the request it gets)
  error log  ${rel(path.join(apache.workdir, 'error_log'))}

Browser login: open

  http://127.0.0.1:${port}/app/

and sign in as  user: ${TEST_USER.login}   password: ${TEST_USER.password}
The page shows the request the backend got, with the OIDC-* claim headers.
  session info   http://127.0.0.1:${port}/app/redirect_uri?info=html
  logout         http://127.0.0.1:${port}/app/redirect_uri?logout=${encodeURIComponent(`http://127.0.0.1:${port}/loggedout`)}

Get a token (client_credentials) and call the API:

  curl -s -H "Authorization: Bearer $(${tokenCmd})" http://127.0.0.1:${port}/api/hello

Without a token (401 with a WWW-Authenticate: Bearer challenge):

  curl -si http://127.0.0.1:${port}/api/hello

Ctrl-C stops everything.`);
}

main().catch((e) => { console.error(e.message); process.exit(1); });
