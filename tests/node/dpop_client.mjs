// An independent DPoP client: npm dpop@1, dpop@2 or oauth4webapi@3 makes every proof.
// argv: library ("dpop" | "oauth4webapi"), alg. Prints {"jwk": ...} (the public key, for the
// test to bind a token to), then reads {"url", "method", "token", "api_key"} lines and answers
// each with
// {"status", "body", "nonce_retry"} after sending the request with fetch. A 401 that carries a
// DPoP-Nonce is retried once with a proof holding that nonce, as RFC 9449 section 9 asks.
// With "api_key" (npm dpop only), the token is an API key sent in OTC-API-Key beside the proof,
// whose ath the library computes from it as from an access token.
import { createInterface } from "node:readline";

const [library, alg] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });
const write = (value) => process.stdout.write(JSON.stringify(value) + "\n");

let keyPair;
let proofFor;
let send;
if (library === "oauth4webapi") {
  const oauth = await import("oauth4webapi");
  keyPair = await oauth.generateKeyPair(alg);
  const handle = oauth.DPoP({}, keyPair);
  send = async (request) => {
    const call = () => oauth.protectedResourceRequest(
      request.token, request.method, new URL(request.url), new Headers(), null,
      { DPoP: handle, [oauth.allowInsecureRequests]: true });
    try {
      return [await call(), false];
    } catch (error) {
      if (oauth.isDPoPNonceError(error)) return [await call(), true];
      if (error.response) return [error.response, false];
      throw error;
    }
  };
} else {
  const dpop = await import("dpop");
  const generate = dpop.generateKeyPair;
  const proof = dpop.generateProof ?? dpop.default;
  keyPair = await generate(alg);
  proofFor = (request, nonce) => proof(keyPair, request.url, request.method, nonce,
                                      request.token);
  send = async (request) => {
    const call = async (nonce) => fetch(request.url, {
      method: request.method,
      headers: {
        ...(request.api_key ? { "OTC-API-Key": request.token }
          : { Authorization: `DPoP ${request.token}` }),
        DPoP: await proofFor(request, nonce),
      },
    });
    const first = await call(undefined);
    const nonce = first.headers.get("dpop-nonce");
    if (first.status === 401 && nonce) return [await call(nonce), true];
    return [first, false];
  };
}
write({ jwk: await crypto.subtle.exportKey("jwk", keyPair.publicKey) });
for await (const line of lines) {
  const [response, retried] = await send(JSON.parse(line));
  write({ status: response.status, body: await response.text(), nonce_retry: retried });
}
