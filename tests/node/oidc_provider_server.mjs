// A real authorization server for the oauth tests: npm oidc-provider on 127.0.0.1, offline.
//
// Started by tests/oidc_provider.py, which passes its settings as JSON in argv[2]:
//   {"clients": [{"client_id", "client_secret", "format": "jwt"|"opaque", "mtls": bool}],
//    "introspector": {"client_id", "client_secret"}, "resources": {"<indicator>": "<audience>"},
//    "scope": "tools:list ...", "token_ttl": 3600}
// It listens on a port the kernel picks, then prints one line {"port": N} on stdout: the
// harness reads it, so no port is guessed. Besides oidc-provider's own routes it answers two
// harness-only ones, never part of a real provider:
//   GET  /harness/stats   -> {"jwks_hits": N}: how often /jwks was fetched, for the key tests
//   POST /harness/rotate  -> {"kid": "..."}: a new signing key replaces the old one (a new
//                            Provider instance; the token store is oidc-provider's in-memory
//                            adapter, shared by instances of one process)
//   POST /harness/resources {"<indicator>": "<audience>"} -> {}: more resources, for a tool
//                            server whose URL (its port) is known only after this started
// mTLS (RFC 8705): the provider listens on plain HTTP, so the test plays the TLS terminator in
// front of it: the client certificate of a token request arrives URL-encoded (PEM) in
// X-Harness-Client-Cert, and the tokens of a client with "mtls" carry its cnf x5t#S256.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import http from "node:http";

import Provider from "oidc-provider";

const settings = JSON.parse(process.argv[2]);
let jwksHits = 0;

function signingKey() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), use: "sig", alg: "RS256" };
}

function formatFor(client) {
  const entry = settings.clients.find((candidate) => candidate.client_id === client.clientId);
  return entry && entry.format === "opaque" ? "opaque" : "jwt";
}

function makeProvider(issuer, key) {
  const clients = settings.clients.map((client) => ({
    client_id: client.client_id, client_secret: client.client_secret,
    grant_types: ["client_credentials"], response_types: [], redirect_uris: [],
    tls_client_certificate_bound_access_tokens: client.mtls === true,
  }));
  clients.push({
    client_id: settings.introspector.client_id,
    client_secret: settings.introspector.client_secret,
    grant_types: [], response_types: [], redirect_uris: [],
  });
  const provider = new Provider(issuer, {
    clients,
    enabledJWA: { dPoPSigningAlgValues: ["ES256", "EdDSA", "PS256"] },
    jwks: { keys: [key] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // RFC 9449: a token request with a DPoP proof gets a token bound to its key (cnf.jkt).
      dPoP: { enabled: true },
      // RFC 8705 section 3: tokens of a client registered as bound carry its certificate's
      // thumbprint; the certificate comes from the harness header described above.
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx) => {
          const value = ctx.get("x-harness-client-cert");
          return value ? decodeURIComponent(value) : undefined;
        },
      },
      // RFC 7591, so the metadata offers clients a registration path (mcp-authlab's ASM-05).
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // client_credentials names no default: a token is always for a named resource.
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, indicator, client) => {
          const audience = settings.resources[indicator];
          if (audience === undefined) {
            throw new Provider.errors.InvalidTarget(`unknown resource ${indicator}`);
          }
          return {
            audience, scope: settings.scope, accessTokenTTL: settings.token_ttl,
            accessTokenFormat: formatFor(client), jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
  });
  provider.on("server_error", (ctx, error) => { console.error("server_error", error); });
  return provider;
}

let handler = null;
let issuer = null;
const server = http.createServer((request, response) => {
  const path = request.url.split("?")[0];
  if (path === "/harness/stats" && request.method === "GET") {
    response.setHeader("Content-Type", "application/json");
    response.end(JSON.stringify({ jwks_hits: jwksHits }));
    return;
  }
  if (path === "/harness/rotate" && request.method === "POST") {
    const key = signingKey();
    handler = makeProvider(issuer, key).callback();
    response.setHeader("Content-Type", "application/json");
    response.end(JSON.stringify({ kid: key.kid }));
    return;
  }
  if (path === "/harness/resources" && request.method === "POST") {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      Object.assign(settings.resources, JSON.parse(body));
      response.setHeader("Content-Type", "application/json");
      response.end("{}");
    });
    return;
  }
  if (path === "/jwks") {
    jwksHits += 1;
  }
  handler(request, response);
});

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  handler = makeProvider(issuer, signingKey()).callback();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => { server.close(); process.exit(0); });
}
