// An OAuth client library calls a protected resource: oauth4webapi@3's protectedResourceRequest
// sends the token as Bearer and, on a response carrying WWW-Authenticate, throws
// WWWAuthenticateChallengeError with the challenges it parsed (scheme lowercased, parameters).
// argv: url, access token, JSON body, then header name/value pairs. Prints one line,
// {"status", "challenges"} ("challenges": null when the response carried none).
import * as oauth from "oauth4webapi";

const [url, token, body, ...pairs] = process.argv.slice(2);
const headers = { "content-type": "application/json" };
for (let index = 0; index + 1 < pairs.length; index += 2) {
  headers[pairs[index]] = pairs[index + 1];
}
try {
  const response = await oauth.protectedResourceRequest(
    token, "POST", new URL(url), headers, body, { [oauth.allowInsecureRequests]: true });
  process.stdout.write(JSON.stringify({ status: response.status, challenges: null }) + "\n");
} catch (error) {
  if (!(error instanceof oauth.WWWAuthenticateChallengeError)) {
    throw error;
  }
  process.stdout.write(JSON.stringify({ status: error.status, challenges: error.cause }) + "\n");
}
