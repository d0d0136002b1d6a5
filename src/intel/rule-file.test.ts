import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MatchInput, matches } from './rules.js';
import { parseRequests } from './http.js';
import { joinRuleSets, parseRules } from './rule-file.js';

const input = (payload: string, port = 80): MatchInput => {
  const b = Buffer.from(payload, 'latin1');
  const reqs = parseRequests(b);
  return new MatchInput(reqs.length ? 'http' : 'unknown', port, payload, reqs, '');
};

test('all/any nest; literals, prefix, equals, nocase and RE2 regex', () => {
  const [rule] = parseRules(
    `[[rule]]
id = "t-1"
name = "test"
cves = ["CVE-2099-0001"]
tags = ["t"]
app = "http"
all = [
  { field = "http.method", equals = "POST" },
  { any = [ { field = "http.uri", prefix = "/a/" }, { field = "http.uri", contains = "/B/", nocase = true } ] },
  { field = "http.body", regex = 'cmd=[a-z]+;' },
]
`,
    'mem.toml',
  );
  assert.ok(matches(rule!, input('POST /x/b/y HTTP/1.1\r\nContent-Length: 9\r\n\r\ncmd=abc;x')));
  assert.ok(!matches(rule!, input('GET /a/ HTTP/1.1\r\n\r\n')));
  assert.ok(!matches(rule!, input('POST /c/ HTTP/1.1\r\nContent-Length: 8\r\n\r\ncmd=abc;')));
});

test('bad rules: one line naming the file, the rule and the fix', () => {
  const bad = (body: string, re: RegExp): void =>
    assert.throws(
      () => parseRules(`[[rule]]\nid = "bad-1"\nname = "n"\n${body}`, 'rules/x.toml'),
      (err: Error & { code?: string }) =>
        err.code === 'TW_ERR_RULES' &&
        err.message.startsWith('rules/x.toml: rule "bad-1": ') &&
        re.test(err.message),
    );
  bad(
    'all = [ { field = "payload", regex = "(a)\\\\1" } ]',
    /not valid RE2 syntax.*no lookaround or backreferences/,
  );
  bad('all = [ { field = "nope", contains = "a" } ]', /field must be one of/);
  bad('cves = ["2021-44228"]\nall = [ { field = "payload", contains = "a" } ]', /CVE id/);
  bad('tags = ["Upper"]\nall = [ { field = "payload", contains = "a" } ]', /lowercase tag/);
  bad('colour = "red"\nall = [ { field = "payload", contains = "a" } ]', /unknown key "colour"/);
  bad('', /needs match conditions/);
  assert.throws(() => parseRules('[[rule]\n', 'y.toml'), /y\.toml: not valid TOML/);
  const one = parseRules(
    '[[rule]]\nid = "d"\nname = "n"\nall = [ { field = "payload", contains = "a" } ]',
    'a.toml',
  );
  const two = parseRules(
    '[[rule]]\nid = "d"\nname = "n"\nall = [ { field = "payload", contains = "b" } ]',
    'b.toml',
  );
  assert.throws(() => joinRuleSets([one, two]), /b\.toml: rule "d": id already used in a\.toml/);
});

test('RE2 stays linear where a backtracking engine explodes', () => {
  const [rule] = parseRules(
    '[[rule]]\nid = "redos"\nname = "n"\nall = [ { field = "payload", regex = \'(a+)+$\' } ]',
    'r.toml',
  );
  const hostile = 'a'.repeat(8192) + '!';
  const t = process.hrtime.bigint();
  matches(rule!, input(hostile));
  assert.ok(Number(process.hrtime.bigint() - t) < 200e6, 'an exponential regex took over 200 ms');
});
