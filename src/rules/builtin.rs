//! The built-in rule set.
//!
//! Every example below is fake: random characters in the right shape, never
//! a live credential and never a vendor's published "EXAMPLE" key.
//!
//! Anchor hygiene matters because the detector feeds every anchor of every
//! rule to one leftmost-first, non-overlapping automaton whose literals are
//! sorted: where one rule's anchor is a proper prefix of another rule's, the
//! shorter one always wins and the longer rule never fires at that spot. The
//! tests at the bottom enforce that no such pair exists.
//!
//! Every regex starts with `(?-u)`: it runs on raw bytes, so classes must
//! be ASCII and `\b` must be the ASCII word boundary.

use super::{Alphabet, BuiltinRule as Rule, Confidence};

/// A PEM-style armoured block, from its BEGIN line through its END line.
///
/// Header lines (`Proc-Type:`, `DEK-Info:`, `Version:`, `Comment:`) are
/// allowed after BEGIN. The body may use real line breaks or JSON-escaped
/// `\n`, because keys sit in memory inside config strings as often as in
/// files. At least 64 body characters are required so that the bare BEGIN
/// literal, which many binaries carry as a constant, is not a finding. The
/// END line is optional so that a key whose tail was overwritten in memory
/// is still redacted; the body class has no `-`, so it stops at END.
macro_rules! pem_block {
    ($begin:literal, $end:literal) => {
        concat!(
            "(?-u)",
            $begin,
            r"(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z][A-Za-z0-9-]*: [^\r\n\\]*)*",
            r"(?:[A-Za-z0-9+/=\s]|\\[rn]){64,}",
            "(?:",
            $end,
            ")?"
        )
    };
}

/// A value for the `generic-*` rules, as a `secret` group, then a guard.
///
/// Entropy alone cannot tell a secret from the code, paths and help text
/// that follow the same key names in binaries and scripts, so a value must
/// also:
/// - contain a digit or a symbol (`marked`): letters and identifier
///   punctuation alone read like code or a path (`self.password`,
///   `$DB_PASSWORD`, `--password=PASSWORD`, `/home/u/.password-store`);
/// - not start with `%` or `/` (`first`): format strings and paths;
/// - not be followed by `(`, `[` or ` =` (`end`): a call, an index or a
///   typed declaration (`ERROR_PASSWORD: WIN32_ERROR = 86`) is code.
///
/// Quotes, brackets, braces, `<>`, `,;&:`, backslash and whitespace end a
/// value: they delimit it in the formats these rules read, and leaving `{`,
/// `(` and `<` out also rejects `${VAR}`, `%(name)s` and `<placeholder>`.
///
/// The regex crate has no lookaround, so "at least N long and containing a
/// marked character" is spelled out with one alternative per position of
/// the first marked character: the first is a marked character then N-1
/// more; each `before after` pair is `first`, `before` plain characters, a
/// marked one and at least `after` more; the last is "marked at N-1 or
/// later".
macro_rules! generic_value {
    (
        first: $first:literal,
        plain: $plain:literal,
        marked: $marked:literal,
        any: $any:literal,
        end: $end:literal;
        $rest:literal; $($before:literal $after:literal),*; $long:literal
    ) => {
        concat!(
            "(?P<secret>",
            $marked, $any, "{", $rest, ",}|",
            $first, "(?:",
            $($plain, "{", $before, "}", $marked, $any, "{", $after, ",}|",)*
            $plain, "{", $long, ",}", $marked, $any, "*))",
            $end
        )
    };
}

/// A password: 8 characters or more. Passwords are chosen by people, so
/// `.`, `$` and `*` are allowed in them.
macro_rules! password_value {
    () => {
        generic_value!(
            first: r"[A-Za-z_.$*-]",
            plain: r"[A-Za-z_./$%*-]",
            marked: r"[0-9!#+?@^|~]",
            any: r"[A-Za-z0-9_./$%*!#+=?@^|~-]",
            end: r"(?:[^A-Za-z0-9_./$%*!#+=?@^|~(\[ \t-]|[ \t]+[^=\s]|[ \t]*$)";
            7; 0 6, 1 5, 2 4, 3 3, 4 2, 5 1; 6
        )
    };
}

/// A token or key: 16 characters or more. Generated tokens do not use `.`,
/// `$` or `*`; leaving them out stops values such as `exports2.TOKEN` or
/// `this$1.getToken` at a length too short to match.
macro_rules! token_value {
    () => {
        generic_value!(
            first: r"[A-Za-z_-]",
            plain: r"[A-Za-z_/%-]",
            marked: r"[0-9!#+?@^|~]",
            any: r"[A-Za-z0-9_/%!#+=?@^|~-]",
            end: r"(?:[^A-Za-z0-9_/%!#+=?@^|~(\[ \t-]|[ \t]+[^=\s]|[ \t]*$)";
            15; 0 14, 1 13, 2 12, 3 11, 4 10, 5 9, 6 8, 7 7, 8 6, 9 5, 10 4, 11 3, 12 2, 13 1; 14
        )
    };
}

/// `<keyword><name suffix>`, an assignment, then a value. The assignment
/// takes the usual syntaxes: `k=v`, `k = "v"`, `k := v`, `k => v`, `"k": "v"`,
/// `k: v`, `k:"v"`. A bare `k:v` is left out: it is how URNs, URLs and
/// strings packed together in a binary look (`token-type:saml2`,
/// `Token:https://...`), and it is rare for a real assignment. Nothing
/// crosses a line: a keyword at the end of a line is a label
/// (`Password:` in a UI string), not an assignment.
macro_rules! assignment {
    ($keyword:literal, $value:expr) => {
        concat!(
            "(?-u)",
            $keyword,
            r"[A-Za-z0-9_.-]{0,40}",
            r#"(?:["']?[ \t]{0,8}(?::=|=>|=)[ \t]{0,8}["']?"#,
            r#"|["'][ \t]{0,8}:[ \t]{0,8}["']?"#,
            r#"|[ \t]{0,8}:(?:[ \t]{1,8}["']?|["']))"#,
            $value
        )
    };
}

pub static BUILTIN_RULES: &[Rule] = &[
    // ---------------------------------------------------------------- AWS
    Rule {
        id: "aws-access-key-id",
        description:
            "AWS access key ID (AKIA long-term, ASIA temporary, and the other IAM unique-ID prefixes)",
        anchors: &[
            "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA",
            "ASCA",
        ],
        regex: r"(?-u)\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z2-7]{16})\b",
        max_len: 32,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::High,
        true_examples: &[
            "AWS_ACCESS_KEY_ID=AKIAZY2IP3WWDEERYWJA",
            r#""AccessKeyId": "ASIA5ZYPDWEE3HQIE4LL","#,
            "arn role id AROAMIURYKMBYULS7HDY",
        ],
        false_examples: &[
            // Digits 0, 1, 8, 9 are not base32.
            "AKIA1234567890189012",
            "AKIAXXXXXXXXXXXXXXXX",
            // Part of a longer upper-case run.
            "XAKIAZY2IP3WWDEERYWJAQ",
            "AKIAZY2IP3WWDEER",
        ],
    },
    Rule {
        id: "aws-secret-access-key",
        description:
            "AWS secret access key: 40 base64 characters assigned to an aws_secret_access_key-style name or a SecretAccessKey field",
        anchors: &[
            "aws_secret",
            "AWS_SECRET",
            "\"SecretAccessKey\"",
            "<SecretAccessKey>",
        ],
        regex: r#"(?-u)(?:(?i:aws_?secret(?:_?access)?(?:_?key)?)|SecretAccessKey)["'>]?[ \t]*(?::=|=>|[:=])?[ \t]*["']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        max_len: 120,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "aws_secret_access_key = GbVBGAxDHAqI2fvwkMfG6kvrsKrrFh2MPVQqvV1Z",
            "export AWS_SECRET_ACCESS_KEY=\"4C00o7lT6E2RvtrUr7WkYCeNdW2XxTELUCpGxNQC\"",
            r#"{"AccessKeyId": "ASIA5ZYPDWEE3HQIE4LL", "SecretAccessKey": "Gjpdg2Qb1cYRsrDxqGZVBYjM4Jm4sRUj/OnHSvIo"}"#,
            "<SecretAccessKey>4C00o7lT6E2RvtrUr7WkYCeNdW2XxTELUCpGxNQC</SecretAccessKey>",
        ],
        false_examples: &[
            "aws_secret_access_key = <your-secret-access-key>",
            "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}",
            "aws_secret_access_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            // 41 characters: not a secret access key.
            "aws_secret_access_key = GbVBGAxDHAqI2fvwkMfG6kvrsKrrFh2MPVQqvV1Zx",
        ],
    },
    Rule {
        id: "aws-session-token",
        description: "AWS STS session token assigned to aws_session_token or a SessionToken field",
        anchors: &[
            "aws_session_token",
            "AWS_SESSION_TOKEN",
            "\"SessionToken\"",
            "<SessionToken>",
        ],
        regex: r#"(?-u)(?:(?i:aws_?session_?token)|SessionToken)["'>]?[ \t]*(?::=|=>|[:=])?[ \t]*["']?(?P<secret>[A-Za-z0-9/+=]{100,})"#,
        max_len: 4096,
        min_entropy: Some((Alphabet::Base64, 4.5)),
        confidence: Confidence::High,
        true_examples: &[
            "aws_session_token = FwoGZXIvYXdzEO5v+T5IR+8qfvE4QkRf5OtdMc2yWu+KtKlXdY8AU/pIjkOjuQM+q7a04c13maSjk3M2VZpVO04qcuJhEzZC/LobfWXmw2EZ/BtPDvdd/N7e+jxEZ36w3Z0OQ4qntwYytzOdfz/g4rXVeFxW9bX3xifKhLUwj3I3mENfWKZJp9ibQjyLJdCvzAqn6ttzEvyAuoI8p9BDqymW0bNVAfWoKKhMesT9O6ieZf8FyrL9hZ2elVEc5Gd/BhK4oKyuQJz3cPLIVI3jQr3CVmOgOqXq1hJRA1yEzkJhbAwFhO/b24SdO8qcHN9dP4DLjILmfohW1l1mekxZdhBm1nOmnorTOdGEQCRlXTfmVyvKzFHOL",
            r#""SessionToken": "IQoJb3JpZ2luX2VjEO5v+T5IR+8qfvE4QkRf5OtdMc2yWu+KtKlXdY8AU/pIjkOjuQM+q7a04c13maSjk3M2VZpVO04qcuJhEzZC/LobfWXmw2EZ/BtPDvdd/N7e+jxEZ36w3Z0OQ4qntwYytzOdfz/g4rXVeFxW9bX3xifKh==","#,
        ],
        false_examples: &[
            "AWS_SESSION_TOKEN=${AWS_SESSION_TOKEN}",
            "aws_session_token = FwoGZXIvYXdzEO5v+T5IR+8qfvE4QkRf5OtdMc2yWu",
        ],
    },
    // ------------------------------------------------------------- GitHub
    Rule {
        id: "github-classic-token",
        description:
            "GitHub personal access, OAuth, user-to-server, server-to-server or refresh token (ghp_, gho_, ghu_, ghs_, ghr_)",
        anchors: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        regex: r"(?-u)\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,251})\b",
        max_len: 260,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "GITHUB_TOKEN=ghp_d0G5Z4eyf1dlF65p2CeF9jlhMO4dIuPKof4A",
            "https://x-access-token:ghs_JaTp2NeBi2l5SKrZ0KaYRAFyM7PL0kdzDyN8@github.com/org/repo.git",
            r#"{"token":"gho_5iZTnr4bzjX6mxkhLLO0sZvspPSVgmfG2y7k"}"#,
        ],
        false_examples: &[
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            // Too short.
            "ghp_d0G5Z4eyf1dlF65p2CeF9jlhMO4d",
            "ghx_d0G5Z4eyf1dlF65p2CeF9jlhMO4dIuPKof4A",
        ],
    },
    Rule {
        id: "github-fine-grained-pat",
        description: "GitHub fine-grained personal access token (github_pat_)",
        anchors: &["github_pat_"],
        regex: r"(?-u)\b(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        max_len: 100,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "GH_TOKEN=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",
        ],
        false_examples: &[
            "github_pat_XXXXXXXXXXXXXXXXXXXXXX_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "github_pat_8jvgPkfk8eecE5nL6KnBw8_rPbYjfN98qVkrBOprfjU5NKeZol76O3",
        ],
    },
    // ------------------------------------------------------------- GitLab
    Rule {
        id: "gitlab-pat",
        description: "GitLab personal, project or group access token (glpat-)",
        anchors: &["glpat-"],
        regex: r"(?-u)\b(?P<secret>glpat-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*)",
        max_len: 300,
        min_entropy: Some((Alphabet::Any, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "PRIVATE-TOKEN: glpat-2JyLgUr8h8kQW2s7NRec",
            "gitlab_token = \"glpat-EcZdpZmL2l0qWXfGonst\"",
        ],
        false_examples: &["glpat-xxxxxxxxxxxxxxxxxxxx", "glpat-2JyLgUr8h8kQ"],
    },
    Rule {
        id: "gitlab-token",
        description:
            "Other GitLab tokens: runner authentication (glrt-) and registration (GR1348941), deploy, trigger, CI job, OAuth, SCIM, feature-flag, incoming-mail and agent tokens",
        anchors: &[
            "glrt-",
            "GR1348941",
            "gldt-",
            "glptt-",
            "glcbt-",
            "gloas-",
            "glsoat-",
            "glffct-",
            "glimt-",
            "glagent-",
        ],
        regex: r"(?-u)\b(?P<secret>(?:glrt|gldt|glptt|glcbt|gloas|glsoat|glffct|glimt|glagent)-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,})",
        max_len: 300,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "token = \"glrt-k3Kj1osX0n_8RSxWipFE\"",
            "--registration-token GR13489412sjnR2ZdNsLAunzwLnd6",
        ],
        false_examples: &["glrt-REPLACE_ME", "gldt-aaaaaaaaaaaaaaaaaaaaaaaa"],
    },
    // -------------------------------------------------------------- Slack
    Rule {
        id: "slack-token",
        description:
            "Slack bot, user, app, refresh or configuration token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-, xoxo-, xapp-)",
        anchors: &["xox", "xapp-"],
        regex: r"(?-u)\b(?P<secret>(?:xox[abeoprs]|xapp)-[0-9]+-[A-Za-z0-9-]{20,})",
        max_len: 512,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "SLACK_BOT_TOKEN=xoxb-5270893318464-6102283917240-D4UDj2fPhctMEnAtRYE7fyz1",
            "xoxp-5270893318464-5282751092385-6095116093911-a1101630a377643b696476f39bc88e32",
            "xapp-1-A05QX2T7LKA-6102283917240-e35bdd9c7e4b44c4a40e3f21f1a1d2f0b2cb4c4a8",
        ],
        false_examples: &[
            "xoxb-your-bot-token-here",
            "xoxb-000000000000-000000000000-xxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    Rule {
        id: "slack-webhook-url",
        description: "Slack incoming-webhook URL; the path after /services/ is the credential",
        anchors: &["hooks.slack.com/services/"],
        regex: r"(?-u)hooks\.slack\.com/services/(?P<secret>T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{23,25})\b",
        max_len: 100,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "https://hooks.slack.com/services/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",
        ],
        false_examples: &[
            // The placeholder from Slack's documentation.
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/services/",
        ],
    },
    // ------------------------------------------------------------- Stripe
    Rule {
        id: "stripe-secret-key",
        description: "Stripe secret API key, live or test mode (sk_live_, sk_test_)",
        anchors: &["sk_live_", "sk_test_"],
        regex: r"(?-u)\b(?P<secret>sk_(?:live|test)_[0-9A-Za-z]{24,247})\b",
        max_len: 260,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "STRIPE_SECRET_KEY=sk_live_rLT3orWKZPcMOWI2yEdQnV7Y",
            "Stripe.api_key = 'sk_test_LEUOCsyivyzGL5cSixkiTs0oCniq48W2iQJgDbpqAeoGhRjUu46uME2mERuKYx0YKoU2vj6Tkza3UEp23tq0s8uf5ZVxoyoaJ08'",
        ],
        false_examples: &[
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "sk_test_123",
            "pk_live_rLT3orWKZPcMOWI2yEdQnV7Y",
        ],
    },
    Rule {
        id: "stripe-restricted-key",
        description: "Stripe restricted API key, live or test mode (rk_live_, rk_test_)",
        anchors: &["rk_live_", "rk_test_"],
        regex: r"(?-u)\b(?P<secret>rk_(?:live|test)_[0-9A-Za-z]{24,247})\b",
        max_len: 260,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &["rk_live_PcNl3UH9fj2tP2Ux0x3fFc0l"],
        false_examples: &["rk_live_0000000000000000000000000", "rk_test_"],
    },
    Rule {
        id: "stripe-webhook-secret",
        description: "Stripe webhook signing secret (whsec_)",
        anchors: &["whsec_"],
        regex: r"(?-u)\b(?P<secret>whsec_[A-Za-z0-9+/=]{32,})",
        max_len: 128,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &["STRIPE_WEBHOOK_SECRET=whsec_r6fcNVrZV0x5d0iAMwTo680SXwyNeJNv"],
        false_examples: &["whsec_...", "whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    // ------------------------------------------------------------- Google
    Rule {
        id: "google-api-key",
        description: "Google API key (AIza)",
        anchors: &["AIza"],
        regex: r"(?-u)\b(?P<secret>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "const firebaseConfig = { apiKey: \"AIza9YFFJK85cTHrZDZTs9kkfkZON6TbEFO9XX-\" };",
            "https://maps.googleapis.com/maps/api/js?key=AIza9Z1M3TtI86Sb3J32wpPtFnuZBsZRyzHbBq3&callback=init",
        ],
        false_examples: &[
            "AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "AIza9YFFJK85cTHrZDZTs9kkfkZON6Tb",
        ],
    },
    Rule {
        id: "gcp-service-account-private-key",
        description:
            "Private key inside a Google service-account JSON key file (the \"private_key\" field)",
        anchors: &["\"private_key\""],
        regex: r#"(?-u)"private_key"\s*:\s*"(?P<secret>-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\[rn])+-----END [A-Z ]{0,20}PRIVATE KEY-----(?:\\n)?)""#,
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            r#"{"type": "service_account", "project_id": "billing-prod", "private_key_id": "28ccf9bf390c1748baed9fb86e3f360d2cc26846", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKe+EktzEVlBOl43YOlTm1xTZRe0wuCg\n5YCwQ7aMkMG37mwxdw2yzH7CI3hiKYWGL4b8Mcf7oca+/EwDkPXc8NlV+L8Jz6/u\nji62/FFuTv+0/Cc4dITf5+SovoJy7pHZFW78on2MdMkr3oiAjkuCeYQbKtS7naX8\n9NbX/A==\n-----END PRIVATE KEY-----\n", "client_email": "report@billing-prod.iam.gserviceaccount.com"}"#,
        ],
        false_examples: &[
            r#""private_key": "<paste the key here>""#,
            r#""private_key": """#,
        ],
    },
    Rule {
        id: "gcp-service-account-key-id",
        description:
            "Key ID of a Google service-account JSON key file; an identifier, not the key, so only reported",
        anchors: &["\"private_key_id\""],
        regex: r#"(?-u)"private_key_id"\s*:\s*"(?P<secret>[0-9a-f]{40})""#,
        max_len: 72,
        min_entropy: Some((Alphabet::Hex, 3.0)),
        confidence: Confidence::Low,
        true_examples: &[r#""private_key_id": "28ccf9bf390c1748baed9fb86e3f360d2cc26846","#],
        false_examples: &[
            r#""private_key_id": "0000000000000000000000000000000000000000","#,
            r#""private_key_id": "KEY_ID""#,
        ],
    },
    Rule {
        id: "google-oauth-client-secret",
        description: "Google OAuth client secret (GOCSPX-)",
        anchors: &["GOCSPX-"],
        regex: r"(?-u)\b(?P<secret>GOCSPX-[A-Za-z0-9_-]{28})(?:[^A-Za-z0-9_-]|$)",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[r#""client_secret": "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""#],
        false_examples: &[
            "GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GOCSPX-wlJ1ySq2_Yuwzv",
        ],
    },
    Rule {
        id: "google-oauth-access-token",
        description: "Google OAuth 2.0 access token (ya29.)",
        anchors: &["ya29."],
        regex: r"(?-u)\b(?P<secret>ya29\.[0-9A-Za-z_-]{30,})",
        max_len: 2048,
        min_entropy: Some((Alphabet::Any, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "Authorization: OAuth ya29.LvmBUzPwIJdkFgiEMn6ROgprXuKtRsutPJVhsL64btbpbmt_R_OHiszlaHqJLyrIl96tDSO9rOPWZZuG1otl6f8YfY0AXL--B-qwc6itBWMHdYIFokZBsCBQ",
        ],
        false_examples: &["ya29.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ya29.a0Af"],
    },
    // -------------------------------------------------------------- Azure
    Rule {
        id: "azure-storage-account-key",
        description: "Azure storage account key in a connection string (AccountKey=)",
        anchors: &["AccountKey="],
        regex: r"(?-u)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
        max_len: 112,
        min_entropy: Some((Alphabet::Base64, 4.5)),
        confidence: Confidence::High,
        true_examples: &[
            "DefaultEndpointsProtocol=https;AccountName=billingexports;AccountKey=XdFohzNYXCeeTt3h0w7w0l2O6LwZgbs5Tf6Jb2dfVW4z+pld27n1uSJPWYskpQGwGVF6cXpbdbUChYnzFnpmH7==;EndpointSuffix=core.windows.net",
        ],
        false_examples: &[
            "AccountKey=<storage-account-key>",
            "AccountKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        ],
    },
    Rule {
        id: "azure-sas-signature",
        description:
            "Signature of an Azure shared access signature: sig= after an sv= (version) or se= (expiry) parameter of the same token",
        anchors: &["&sig=", "?sig="],
        regex: r"(?-u)\bs[ve]=[0-9]{4}-[0-9]{2}-[0-9]{2}[A-Za-z0-9%:&=._+-]*?[?&]sig=(?P<secret>(?:[A-Za-z0-9+/]|%2[BbFf]){43}(?:%3[Dd]|=)?)(?:[^A-Za-z0-9%+/=]|$)",
        max_len: 1024,
        min_entropy: Some((Alphabet::Any, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "https://billingexports.blob.core.windows.net/reports/q1.csv?sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2025-06-30T17:00:00Z&st=2025-06-01T09:00:00Z&spr=https&sig=2pvbIOKME9pvR2mw9MSqmfKb%2FTJGUmrEqHgZPZ8gqSi%3D",
            "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2021-06-08&ss=b&srt=o&sp=r&se=2024-12-31T23:59:59Z&sig=Gjpdg2Qb1cYRsrDxqGZVBYjM4Jm4sRUj/OnHSvIoiGI=",
        ],
        false_examples: &[
            // No SAS version or expiry: any other API's signature parameter.
            "https://cdn.example.com/img.png?w=200&sig=2pvbIOKME9pvR2mw9MSqmfKb%2FTJGUmrEqHgZPZ8gqSi%3D",
            "?sv=2022-11-02&ss=b&srt=sco&sp=rl&sig=",
            "?sv=2022-11-02&sp=r&sig=REDACTED",
        ],
    },
    Rule {
        id: "azure-ad-client-secret",
        description:
            "Microsoft Entra ID (Azure AD) application client secret: 40 characters with the Q~ marker at offset 4",
        anchors: &[
            "0Q~", "1Q~", "2Q~", "3Q~", "4Q~", "5Q~", "6Q~", "7Q~", "8Q~",
            "9Q~",
        ],
        regex: r"(?-u)(?:^|[^A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)",
        max_len: 48,
        min_entropy: Some((Alphabet::Any, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "AZURE_CLIENT_SECRET=C~k8Q~nLO8R.HwnlYYt1mO7n_JLr8aeJ6hX5c",
            r#""clientSecret": "g5e7Q~WDAZ82MjlIHIGbF~GnBNUqv6z9gFFzUx""#,
        ],
        false_examples: &["abc8Q~", "xxx8Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    // ---------------------------------------------------------------- JWT
    Rule {
        id: "jwt",
        description:
            "JSON Web Token: base64url header and payload (both JSON objects, so both start eyJ) and a signature",
        anchors: &["eyJ"],
        regex: r"(?-u)\b(?P<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,})",
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtcmVwb3J0aW5nIiwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuaW50ZXJuYWwiLCJpYXQiOjE3MTYyMzkwMjIsImV4cCI6MTcxNjI0MjYyMn0.lqR8QTLm4YcExCZRDDdM-CP_X5cWjwz0aC13s-ejZWo",
            "Cookie: session=eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiI0MiIsInNjb3BlIjoicmVhZCJ9.L0dunG28M91NU4DPQgi3WDsKbZnC-7vi-41DHVHiOnmXdAOQhUb_CCUI3leeIgQuT9eZkkh9856irED-eoGeZg; Path=/",
        ],
        false_examples: &[
            // Unsigned (alg "none"): carries no signature to steal.
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        ],
    },
    // ------------------------------------------------------ Private keys
    Rule {
        id: "pem-rsa-private-key",
        description: "PEM RSA private key (PKCS#1), BEGIN through END",
        anchors: &["-----BEGIN RSA PRIVATE KEY-----"],
        regex: pem_block!(
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END RSA PRIVATE KEY-----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN RSA PRIVATE KEY-----\n\
             MIIEpAIBAAKCAQEABi8d0OMz2tusTnINVdkbj3JeYeBh5IOZG5LKOn+wR3Al/izs\n\
             FG6T28jjHtCqmRDIgSYTLIMrKvFpiPDQnP64n8k7AzwsloLsyN4X6E6BWHiKq68Q\n\
             W5Out2woPJnT4yApklpMGwF7aDDzYk1KN3kzYkxk70FVVqctTjoEUPO7ifQPQie4\n\
             vfZn3f1MRZ/WuPSaD1StvuyJujNe043gDc/62A0DpYVZS88OCsvW6+oshBYo462U\n\
             -----END RSA PRIVATE KEY-----\n",
            // Legacy OpenSSL encryption headers.
            "-----BEGIN RSA PRIVATE KEY-----\r\n\
             Proc-Type: 4,ENCRYPTED\r\n\
             DEK-Info: AES-128-CBC,3F2A9C0B7E5D41A68C2B1F0E9D8C7B6A\r\n\
             \r\n\
             FG6T28jjHtCqmRDIgSYTLIMrKvFpiPDQnP64n8k7AzwsloLsyN4X6E6BWHiKq68Q\r\n\
             W5Out2woPJnT4yApklpMGwF7aDDzYk1KN3kzYkxk70FVVqctTjoEUPO7ifQPQie4\r\n\
             -----END RSA PRIVATE KEY-----\r\n",
        ],
        false_examples: &[
            "-----BEGIN RSA PUBLIC KEY-----\n\
             MIIBCgKCAQEABi8d0OMz2tusTnINVdkbj3JeYeBh5IOZG5LKOn+wR3Al/izsFG6T\n\
             28jjHtCqmRDIgSYTLIMrKvFpiPDQnP64n8k7AzwsloLsyN4X6E6BWHiKq68QW5Ou\n\
             -----END RSA PUBLIC KEY-----\n",
            // The bare marker, as PEM libraries embed it.
            "-----BEGIN RSA PRIVATE KEY-----\0-----END RSA PRIVATE KEY-----\0",
        ],
    },
    Rule {
        id: "pem-ec-private-key",
        description: "PEM EC private key (SEC 1), BEGIN through END",
        anchors: &["-----BEGIN EC PRIVATE KEY-----"],
        regex: pem_block!(
            "-----BEGIN EC PRIVATE KEY-----",
            "-----END EC PRIVATE KEY-----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN EC PRIVATE KEY-----\n\
             MHcCAQEEIDGR7sTzsiWgPPDq4DKc05r9PP4ZNPi5qj9WuiEYHPrf+AzaIQbyW2G+\n\
             08+LedtbXp0sSyJM8U0JHdH/ttG+N3PGRMKcSIVK+aKVT+Lf4F+1IZKtrWDKX9DO\n\
             I+k91U/6XecDwH8=\n\
             -----END EC PRIVATE KEY-----\n",
        ],
        false_examples: &[
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n",
            "-----BEGIN PUBLIC KEY-----\n\
             MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMZHuxPOyJaA88OrgMpzTmv08/hk0\n\
             +LmqP1a6IRgc+t/4DNohBvJbYb7Tz4t521tenSxLIkzxTQkd0f+20b43cw==\n\
             -----END PUBLIC KEY-----\n",
        ],
    },
    Rule {
        id: "pem-dsa-private-key",
        description: "PEM DSA private key, BEGIN through END",
        anchors: &["-----BEGIN DSA PRIVATE KEY-----"],
        regex: pem_block!(
            "-----BEGIN DSA PRIVATE KEY-----",
            "-----END DSA PRIVATE KEY-----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN DSA PRIVATE KEY-----\n\
             MIIBuwIBAAKBgQAk2LOCkBsVKMC3R5bb+ADkpI3ojC82fzJIOifNRuQD/bmDyI4G\n\
             SporeMo08yOVOU6RtERJtmrufxq16MpBfumUFMmOwsnuV7i8/qamWbf500KxgP34\n\
             8ZOT1nb4iitfM/LxBn5OJP0+YTmLt45fC9gj59qM4B/gxFclCR4SENkZQrXRUx08\n\
             0gXrwcvBnLPsZdFpJBfhzFg=\n\
             -----END DSA PRIVATE KEY-----\n",
        ],
        false_examples: &[
            "-----BEGIN DSA PARAMETERS-----\nMIIBHgKBgQC\n-----END DSA PARAMETERS-----\n",
            "-----BEGIN DSA PRIVATE KEY-----\n...\n-----END DSA PRIVATE KEY-----\n",
        ],
    },
    Rule {
        id: "pem-pkcs8-private-key",
        description: "PEM unencrypted PKCS#8 private key (BEGIN PRIVATE KEY), BEGIN through END",
        anchors: &["-----BEGIN PRIVATE KEY-----"],
        regex: pem_block!("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN PRIVATE KEY-----\n\
             MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKe+EktzEVlBOl43YOlTm1xTZRe0wuCg\n\
             5YCwQ7aMkMG37mwxdw2yzH7CI3hiKYWGL4b8Mcf7oca+/EwDkPXc8NlV+L8Jz6/u\n\
             ji62/FFuTv+0/Cc4dITf5+SovoJy7pHZFW78on2MdMkr3oiAjkuCeYQbKtS7naX8\n\
             BnQ6MbVltpTG+9cu825YeH9SaoPvTjG5SVsXKiMldoTmisDrysjUncASwQcTwBlT\n\
             9NbX/A==\n\
             -----END PRIVATE KEY-----\n",
            // As a JSON string, newlines escaped.
            r#"{"key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKe+EktzEVlBOl43YOlTm1xTZRe0wuCg\n5YCwQ7aMkMG37mwxdw2yzH7CI3hiKYWGL4b8Mcf7oca+/EwDkPXc8NlV+L8Jz6/u\n-----END PRIVATE KEY-----\n"}"#,
        ],
        false_examples: &[
            "-----BEGIN PUBLIC KEY-----\n\
             MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEABi8d0OMz2tusTnINVdkb\n\
             j3JeYeBh5IOZG5LKOn+wR3Al/izsFG6T28jjHtCqmRDIgSYTLIMrKvFpiPDQnP64\n\
             -----END PUBLIC KEY-----\n",
            "-----BEGIN CERTIFICATE-----\n\
             MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n\
             RTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\n\
             -----END CERTIFICATE-----\n",
        ],
    },
    Rule {
        id: "pem-encrypted-private-key",
        description:
            "PEM encrypted PKCS#8 private key, BEGIN through END; still redacted, as the passphrase may be weak or nearby",
        anchors: &["-----BEGIN ENCRYPTED PRIVATE KEY-----"],
        regex: pem_block!(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----",
            "-----END ENCRYPTED PRIVATE KEY-----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n\
             MIIFJDBW7TXGjt5L4L2w54TG8xyhThCG2auTAfCfUcWUGB8OFtGRb/gEJL0DPrMl\n\
             Lh/I8uHl1zBjcN46HALSrYsrKUcvn6L2kfbmgBhRmFTO2DYlVOWrF9MyI1Hkg+E4\n\
             ggkAonan9pekeCwxdm5Em2XOQDNOwz52oJCRFSoN0bDmYaPAyTIgA1askl5w2RF1\n\
             LVCCz2WBSkR+/2Vl/ccNMaQsToOn2EHYf43nIfroZBc=\n\
             -----END ENCRYPTED PRIVATE KEY-----\n",
        ],
        false_examples: &[
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n<key>\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE REQUEST-----\n\
             MIICvDCCAaQCAQAwdzELMAkGA1UEBhMCVVMxDTALBgNVBAgMBFV0YWgxDzANBgNV\n\
             BAcMBkxpbmRvbjEWMBQGA1UECgwNRGlnaUNlcnQgSW5jLjERMA8GA1UECwwIRGln\n\
             -----END CERTIFICATE REQUEST-----\n",
        ],
    },
    Rule {
        id: "openssh-private-key",
        description: "OpenSSH private key (BEGIN OPENSSH PRIVATE KEY), BEGIN through END",
        anchors: &["-----BEGIN OPENSSH PRIVATE KEY-----"],
        regex: pem_block!(
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "-----END OPENSSH PRIVATE KEY-----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN OPENSSH PRIVATE KEY-----\n\
             b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZcSGSegEULqxcxF/HjVXWuDu\n\
             gajm+x9b+eMpg1nX0nNwLuAHCgoDCFlAqM+gMu+YNaLATWNy6/AFnWl79taU1Y9t\n\
             Kcda/4p9QWRcugrbRwGH76AN+bDR3vmFy7jP6YPKMEU+4YQ1SREgR6ok1fYFZtuj\n\
             F1d+UaYXVpPqjW3rrETC8Mjxrjq3KhGN48DwNdrXSSGKByedugiZE1iRg078VVGB\n\
             FxtW1ZD73iek\n\
             -----END OPENSSH PRIVATE KEY-----\n",
        ],
        false_examples: &[
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ8c0Vw2Qk7yT4wQ2j5cF3b1ZfXk9mYQpL0R7uS6vH user@host",
            "-----BEGIN SSH2 PUBLIC KEY-----\n\
             AAAAB3NzaC1yc2EAAAADAQABAAABAQC8d0OMz2tusTnINVdkbj3JeYeBh5IOZG5L\n\
             -----END SSH2 PUBLIC KEY-----\n",
        ],
    },
    Rule {
        id: "ssh2-private-key",
        description:
            "SSH.com / RFC 4716 style encrypted private key (BEGIN SSH2 ENCRYPTED PRIVATE KEY), BEGIN through END",
        anchors: &["---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"],
        regex: pem_block!(
            "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
            "---- END SSH2 ENCRYPTED PRIVATE KEY ----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n\
             Comment: \"rsa-key-20240611\"\n\
             P2/56wlhfzpAp4MDHYkI3+su4PoAqg3zPO6A80PYj4szzijUzgzELcawCYsdAEEP\n\
             E7yXopl33w3gAu8X2eSXfai8WByZJKiXoMeWJIBNsaUQTA5RDLGxIfh2Mm/BKoPT\n\
             l8konAdyefU7lceBJbLIshQwks7KebRvHF/FPRuPbSKG+fy3ktfPyjLLfU6tscwz\n\
             zeXNZl//+8P10g==\n\
             ---- END SSH2 ENCRYPTED PRIVATE KEY ----\n",
        ],
        false_examples: &[
            "---- BEGIN SSH2 PUBLIC KEY ----\n\
             Comment: \"rsa-key-20240611\"\n\
             AAAAB3NzaC1yc2EAAAADAQABAAABAQC8d0OMz2tusTnINVdkbj3JeYeBh5IOZG5L\n\
             ---- END SSH2 PUBLIC KEY ----\n",
        ],
    },
    Rule {
        id: "pgp-private-key-block",
        description: "ASCII-armoured OpenPGP secret key block, BEGIN through END",
        anchors: &["-----BEGIN PGP PRIVATE KEY BLOCK-----"],
        regex: pem_block!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----",
            "-----END PGP PRIVATE KEY BLOCK-----"
        ),
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\
             Version: GnuPG v2\n\
             \n\
             lQPGBG4ER+SqFWAjm86gpFxE5SF5dFST0b8uCS7vB8gBp9F2Gv0caYc3XJfiEW0G\n\
             7CZK769avhsH4gsEE3b/nlj67AeJzJbxAF8Nfs+xlMOeqTv6DEeUdIlYpLnrkncd\n\
             KGKu8xttLnZTbhSBw++a1wt/BJ+ciWiTbzOsXHxIM6E2+NxJFP3eCn89LMXS2jSx\n\
             W/jf8Tp3SBqxzILEXu4qy+KTXfiK6CuQa2kdhOG333Q3+ZHfGn0YsA==\n\
             =kX3d\n\
             -----END PGP PRIVATE KEY BLOCK-----\n",
        ],
        false_examples: &[
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\
             \n\
             mQENBG4ER+SqFWAjm86gpFxE5SF5dFST0b8uCS7vB8gBp9F2Gv0caYc3XJfiEW0G\n\
             7CZK769avhsH4gsEE3b/nlj67AeJzJbxAF8Nfs+xlMOeqTv6DEeUdIlYpLnrkncd\n\
             =kX3d\n\
             -----END PGP PUBLIC KEY BLOCK-----\n",
            "-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n",
        ],
    },
    Rule {
        id: "putty-private-key",
        description: "PuTTY private key file (.ppk, versions 2 and 3), header through Private-MAC",
        anchors: &["PuTTY-User-Key-File-"],
        regex: r"(?-u)PuTTY-User-Key-File-[23]: [A-Za-z0-9@.-]+\r?\n(?:[A-Za-z0-9-]+: [^\r\n]*\r?\n|[A-Za-z0-9+/=]+\r?\n)*?Private-Lines: [0-9]+\r?\n(?:[A-Za-z0-9+/=]+\r?\n)+Private-MAC: [0-9a-f]{40,64}",
        max_len: 8192,
        min_entropy: None,
        confidence: Confidence::High,
        true_examples: &[
            "PuTTY-User-Key-File-3: ssh-rsa\n\
             Encryption: none\n\
             Comment: deploy@build-07\n\
             Public-Lines: 3\n\
             AAAAB3NzaC1yc2Eb/QJr+ERZ6lm0BZx01OJwLUbUhyPDf3Xx+kXYcBxWGc8G20/3\n\
             Ev9xpINVUPy+6LpegfuutCn2Ia2/Xu5786Ub8W36DtP80QpDE5DggncutVcKXUB+\n\
             lTg3sYU=\n\
             Private-Lines: 3\n\
             Z9Dmd43UV7OD6tQmQOD7Ic1CkixeS+kQzeLQpAUajLEd9q0uhTG0RpltR3kZQxyu\n\
             hhVomXtbQdf1LiZFeyTAe/xzMJ64f5U0HBKpKWqhq2NVIKS9XEDLxEjQJSIquBWF\n\
             YTUBmHK6rwLNaI1Mu9RJ6br6zsixv8pUlFkPiXAfCj+98uIu+OA=\n\
             Private-MAC: 6f1c3b0e8d2a4f5b7c9e1d3a5b7c9e0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b\n",
        ],
        false_examples: &[
            // The format string inside PuTTY itself.
            "PuTTY-User-Key-File-%d: %s\n",
            "PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: deploy@build-07\nPublic-Lines: 1\nAAAAB3NzaC1yc2E=\n",
        ],
    },
    // ----------------------------------------------------- HTTP and URLs
    Rule {
        id: "url-userinfo-password",
        description: "Password in the userinfo part of a URL (scheme://user:password@host)",
        anchors: &["://"],
        regex: r"(?-u)[A-Za-z][A-Za-z0-9+.-]{0,30}://[A-Za-z0-9._~%!$&*+,;=-]{0,128}:(?P<secret>[A-Za-z0-9._~!&+,;=-][A-Za-z0-9._~%!$&*+,;=:()-]{2,127})@[A-Za-z0-9\[]",
        max_len: 320,
        min_entropy: Some((Alphabet::Any, 2.5)),
        confidence: Confidence::Medium,
        true_examples: &[
            "DATABASE_URL=postgres://app_user:Tr0ub4dor&3xK9@db.internal:5432/orders",
            "redis://:s3cr3tP4ssw0rdX@cache.internal:6379/0",
            "amqp://ingest:Qm9vbGVhbi1w@rabbit.local/vhost",
        ],
        false_examples: &[
            "https://example.com:8080/path",
            "http://user@host/",
            "postgres://user:${DB_PASSWORD}@db:5432/app",
            "https://deploy:********@git.example.com/repo.git",
            "mongodb+srv://admin:<password>@cluster0.example.net/",
            "mysql://root:%s@%s:%d/%s",
        ],
    },
    Rule {
        id: "http-bearer-token",
        description: "Bearer credential, as in an HTTP Authorization header",
        anchors: &["Bearer ", "bearer "],
        regex: r"(?-u)\b[Bb]earer +(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
        max_len: 4096,
        min_entropy: Some((Alphabet::Any, 3.2)),
        confidence: Confidence::High,
        true_examples: &[
            "Authorization: Bearer mFKrXDWd9FgrUZ1RR3oaR0JoMpVXb5TecX99JEiv",
            r#"headers = {"authorization": "bearer 2ef3132865bb63a0db32dddb01eab5fa"}"#,
        ],
        false_examples: &[
            "Authorization: Bearer <token>",
            "Authorization: Bearer ${ACCESS_TOKEN}",
            "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
            "Bearer aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Bearer authentication is also called token authentication",
        ],
    },
    Rule {
        id: "http-basic-auth",
        description:
            "Base64 user:password of an HTTP Basic Authorization (or Proxy-Authorization) header",
        anchors: &["Basic "],
        regex: r#"(?-u)(?i:authorization)["']?[ \t]*[:=][ \t]*["']?Basic +(?P<secret>(?:[A-Za-z0-9+/]{4}){2,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)(?:[^A-Za-z0-9+/=]|$)"#,
        max_len: 1024,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::High,
        true_examples: &[
            "Authorization: Basic c3ZjLWJhY2t1cDp2amRFQ1ByV3ZtU05lUmM3\r\n",
            r#"{"Proxy-Authorization": "Basic ZGVwbG95Ym90Om12MDBqOGkxbUlmWE5ubW45b1U1"}"#,
        ],
        false_examples: &[
            "Authorization: Basic <credentials>",
            "Basic Settings",
            "Authorization: Basic AAAAAAAAAAAAAAAA",
            // Not a whole number of base64 quads.
            "Authorization: Basic dXNlcg",
        ],
    },
    // ----------------------------------------------- Package registries
    Rule {
        id: "npm-access-token",
        description: "npm access token (npm_)",
        anchors: &["npm_"],
        regex: r"(?-u)\b(?P<secret>npm_[A-Za-z0-9]{36})\b",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "//registry.npmjs.org/:_authToken=npm_TO0ZD30oGJOd2sTDuM8DS9p5iowHP3qk6uly",
            "NPM_TOKEN=npm_2HmTovql8CiUsexGwnKaYlPHozyjl3Qt0OZk",
        ],
        false_examples: &[
            // npm's own environment variables.
            "npm_config_cache=/home/ci/.npm",
            "npm_package_name=dumpscrub-web",
            "npm_000000000000000000000000000000000000",
        ],
    },
    Rule {
        id: "pypi-api-token",
        description: "PyPI or TestPyPI API token (pypi- followed by a macaroon naming the index)",
        anchors: &["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
        regex: r"(?-u)\b(?P<secret>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,})",
        max_len: 1024,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "password = pypi-AgEIcHlwaS5vcmcJyMMK1GkAOC_NF_Z5SRye6k_jgLxhGm6ttd44ArwKx0NsmKdTM1F9EBuNQI5rIXvkU3XR7WesEHUeBpDP7e6VpWrNJEzXOE-tXMfhKzwyLpiAakrnxM33AxMoc4nC3DlG71TjlASnSohTdM5-SEDBt",
        ],
        false_examples: &[
            "pypi-AgEIcHlwaS5vcmc",
            "pypi-AgEIcHlwaS5vcmcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
    },
    Rule {
        id: "docker-hub-pat",
        description: "Docker Hub personal or organisation access token (dckr_pat_, dckr_oat_)",
        anchors: &["dckr_pat_", "dckr_oat_"],
        regex: r"(?-u)\b(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,})",
        max_len: 128,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "echo dckr_pat_Vzcpw-u933adbTSPQdl0PT8wQR5 | docker login -u ci --password-stdin",
        ],
        false_examples: &["dckr_pat_", "dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    },
    Rule {
        id: "docker-config-auth",
        description: "Base64 user:password in a Docker config.json \"auth\" field",
        anchors: &["\"auth\""],
        regex: r#"(?-u)"auth"\s*:\s*"(?P<secret>[A-Za-z0-9+/]{8,}={0,2})""#,
        max_len: 1024,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::High,
        true_examples: &[
            r#"{"auths": {"registry.example.com": {"auth": "ZGVwbG95Ym90Om12MDBqOGkxbUlmWE5ubW45b1U1"}}}"#,
        ],
        false_examples: &[
            r#"{"auths": {"registry.example.com": {"auth": ""}}}"#,
            r#""auth": "none""#,
        ],
    },
    // --------------------------------------------------- Other services
    Rule {
        id: "twilio-api-key",
        description:
            "Twilio API key SID (SK + 32 hex). SK alone is too short to anchor on, so this fires only within 80 characters after a mention of Twilio",
        anchors: &["twilio", "Twilio", "TWILIO"],
        regex: r"(?-u)(?:twilio|Twilio|TWILIO)[\x20-\x7e\t\r\n]{0,80}?\b(?P<secret>SK[0-9a-fA-F]{32})\b",
        max_len: 128,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::Medium,
        true_examples: &[
            "TWILIO_API_KEY=SK9ccc64968d6ec57d75d528b22b865c2b",
            "client = Twilio::REST::Client.new('SK02c7e1cba05eb35e18489d3785fccefb', secret)",
        ],
        false_examples: &[
            "TWILIO_API_KEY=SKXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "TWILIO_API_KEY=SK00000000000000000000000000000000",
        ],
    },
    Rule {
        id: "sendgrid-api-key",
        description: "SendGrid API key (SG.)",
        anchors: &["SG."],
        regex: r"(?-u)\b(?P<secret>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)",
        max_len: 80,
        min_entropy: Some((Alphabet::Any, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "SENDGRID_API_KEY=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",
        ],
        false_examples: &[
            "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "SG.mJrSRxZY2RZPhRbOdmZlz1",
        ],
    },
    Rule {
        id: "openai-api-key",
        description:
            "OpenAI API key: project, service-account, admin or user key (sk-proj-, sk-svcacct-, sk-admin-, sk-None-), or any sk- key carrying the T3BlbkFJ marker",
        anchors: &[
            "sk-proj-",
            "sk-svcacct-",
            "sk-admin-",
            "sk-None-",
            "T3BlbkFJ",
        ],
        regex: r"(?-u)\b(?P<secret>sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        max_len: 512,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "OPENAI_API_KEY=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",
            "openai.api_key = \"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\"",
        ],
        false_examples: &[
            "sk-proj-...",
            "sk-xxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    Rule {
        id: "anthropic-api-key",
        description: "Anthropic API or admin key (sk-ant-)",
        anchors: &["sk-ant-"],
        regex: r"(?-u)\b(?P<secret>sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{80,})",
        max_len: 256,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "ANTHROPIC_API_KEY=sk-ant-api03-QK1dBUfu7f7agskLjjbSpeF4tFyJCBq1UOOpB4ZANU3fdGVX_N32EwbpPCwAvExSEoOW_aEnMd0cMSR4VeQMedmfPbpZwAA",
        ],
        false_examples: &[
            "sk-ant-api03-...",
            "sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxAA",
        ],
    },
    Rule {
        id: "mailgun-api-key",
        description: "Mailgun private API key (key- + 32 lower-case alphanumerics)",
        anchors: &["key-"],
        regex: r"(?-u)\b(?P<secret>key-[0-9a-z]{32})\b",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::Medium,
        true_examples: &["MAILGUN_API_KEY=key-44oy1oy4boe608y9vjzinao1qa5c8y0f"],
        false_examples: &[
            "primary-key-index",
            "key-00000000000000000000000000000000",
            "key-44oy1oy4boe608y9vjzinao1qa5c8y0fz",
        ],
    },
    Rule {
        id: "shopify-access-token",
        description:
            "Shopify access token, custom-app, private-app or shared secret (shpat_, shpca_, shppa_, shpss_)",
        anchors: &["shpat_", "shpca_", "shppa_", "shpss_"],
        regex: r"(?-u)\b(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::High,
        true_examples: &[
            "X-Shopify-Access-Token: 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",
            "SHOPIFY_API_SECRET=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",
        ],
        false_examples: &[
            "shpat_00000000000000000000000000000000",
            "shpat_30e1b434d734cba187a20e87",
        ],
    },
    Rule {
        id: "digitalocean-token",
        description:
            "DigitalOcean personal access, OAuth or refresh token (dop_v1_, doo_v1_, dor_v1_)",
        anchors: &["dop_v1_", "doo_v1_", "dor_v1_"],
        regex: r"(?-u)\b(?P<secret>do[opr]_v1_[a-f0-9]{64})\b",
        max_len: 80,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::High,
        true_examples: &[
            "DIGITALOCEAN_TOKEN=dop_v1_ebac5b98855b4452f819c4a7c278273f4d20f46a4b73168489f98a1d8c5331d4",
        ],
        false_examples: &[
            "dop_v1_0000000000000000000000000000000000000000000000000000000000000000",
            "dop_v1_ebac5b98855b4452f819c4a7c278273f",
        ],
    },
    Rule {
        id: "vault-token",
        description: "HashiCorp Vault service, batch or recovery token (hvs., hvb., hvr.)",
        anchors: &["hvs.", "hvb.", "hvr."],
        regex: r"(?-u)\b(?P<secret>hv[sbr]\.[A-Za-z0-9_-]{24,})",
        max_len: 512,
        min_entropy: Some((Alphabet::Any, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "VAULT_TOKEN=hvs.CAESI92V7jWUdRpkvlI0-SsQAR5EZjgrVRZ0PHCe3Hu2Lr2Rdm_OEumikWKR5bnqhlfGa4VKP2peyQvGg3Z1xiz16GaIfqq",
            "X-Vault-Token: hvs.nBUQFbcJPz434NSyXIHoF1vK",
        ],
        false_examples: &["hvs.xxxxxxxxxxxxxxxxxxxxxxxx", "vault.hvs.enabled=true"],
    },
    Rule {
        id: "terraform-cloud-token",
        description: "Terraform Cloud / Enterprise API token (.atlasv1.)",
        anchors: &[".atlasv1."],
        regex: r"(?-u)\b(?P<secret>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,})",
        max_len: 160,
        min_entropy: Some((Alphabet::Any, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "credentials \"app.terraform.io\" { token = \"3ivcrwr3my2jjk.atlasv1.rd7zd2w4ueuh2mdb6jg55fnw1zbsyd1pprlm427uwrf6sa5xgpjct6z7j0t1h8w8kf4\" }",
        ],
        false_examples: &[
            "example.atlasv1.token",
            "xxxxxxxxxxxxxx.atlasv1.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    Rule {
        id: "atlassian-api-token",
        description: "Atlassian (Jira, Confluence, Bitbucket) API token (ATATT3)",
        anchors: &["ATATT3"],
        regex: r"(?-u)\b(?P<secret>ATATT3[A-Za-z0-9_-]{150,}=[A-Za-z0-9]{8})\b",
        max_len: 320,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "JIRA_API_TOKEN=ATATT3xFfGF0fLfwV1HEV1hh_TXAvCSIMR9OOAgGahLGXf-QJG8LP91wDWJphC_J_6h1zjzaBuZy0ijq6b9vbTwz5Trj7NRPHMlKLRYjXB9161z22VPonM-S6KCwHSzmNPnPJc5OabSemn09LgfCxPAJ_OUSQdRK90qXmk5rViB3oCLlXSoBv0=F8D003FE",
        ],
        false_examples: &[
            "ATATT3xFfGF0...",
            "ATATT3xFfGF0fLfwV1HEV1hh_TXAvCSIMR9OOAgGahLGXf=F8D003FE",
        ],
    },
    Rule {
        id: "square-access-token",
        description: "Square access token (sq0atp-)",
        anchors: &["sq0atp-"],
        regex: r"(?-u)\b(?P<secret>sq0atp-[0-9A-Za-z_-]{22})(?:[^0-9A-Za-z_-]|$)",
        max_len: 40,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &["SQUARE_ACCESS_TOKEN=sq0atp-E7Gm2QbgYnHWuNfWIvyme8"],
        false_examples: &[
            "sq0atp-xxxxxxxxxxxxxxxxxxxxxx",
            "sq0atp-E7Gm2QbgYnHWuNfWIvyme8Q",
        ],
    },
    Rule {
        id: "square-oauth-secret",
        description: "Square OAuth application secret (sq0csp-)",
        anchors: &["sq0csp-"],
        regex: r"(?-u)\b(?P<secret>sq0csp-[0-9A-Za-z_-]{43})(?:[^0-9A-Za-z_-]|$)",
        max_len: 64,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &["square_secret: sq0csp-_MU9qlGES1pXYwtSlsFQQHDRf5GjhSNdqLUMeuya2ND"],
        false_examples: &[
            "sq0csp-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sq0csp-_MU9qlGES1pXYwt",
        ],
    },
    Rule {
        id: "databricks-token",
        description: "Databricks personal access token (dapi + 32 hex)",
        anchors: &["dapi"],
        regex: r"(?-u)\b(?P<secret>dapi[a-f0-9]{32}(?:-[0-9]+)?)\b",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.0)),
        confidence: Confidence::High,
        true_examples: &["DATABRICKS_TOKEN=dapidf79812fe56710192d4a24cd1d87de3c"],
        false_examples: &["dapi_version=2", "dapi00000000000000000000000000000000"],
    },
    Rule {
        id: "huggingface-token",
        description: "Hugging Face user access token (hf_ + 34 letters)",
        anchors: &["hf_"],
        regex: r"(?-u)\b(?P<secret>hf_[A-Za-z]{34})\b",
        max_len: 48,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "HF_TOKEN=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",
            "huggingface-cli login --token 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",
        ],
        false_examples: &[
            "hf_hub_download(repo_id=\"org/model\", filename=\"config.json\")",
            "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    Rule {
        id: "discord-webhook-url",
        description: "Discord webhook URL; the id/token path is the credential",
        anchors: &["discord.com/api/webhooks/", "discordapp.com/api/webhooks/"],
        regex: r"(?-u)discord(?:app)?\.com/api/webhooks/(?P<secret>[0-9]{17,20}/[A-Za-z0-9_-]{60,80})",
        max_len: 140,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "https://discord.com/api/webhooks/4424218529889253273/dlL-U0TQCcpVE51DFbYeKV5y0ZwERB1k6FCF66i5mwjAd-Qad-2yiv_J-YFtB_9xcWFx",
        ],
        false_examples: &[
            "https://discord.com/api/webhooks/123/abc",
            "https://discord.com/api/webhooks/{webhook.id}/{webhook.token}",
        ],
    },
    Rule {
        id: "discord-bot-token",
        description:
            "Discord bot token in a `Bot <token>` authorization value (a bare bot token has no literal to anchor on)",
        anchors: &["Bot "],
        regex: r"(?-u)\bBot +(?P<secret>[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40})(?:[^A-Za-z0-9_-]|$)",
        max_len: 96,
        min_entropy: Some((Alphabet::Any, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "Authorization: Bot MMLtcQuE6LttQZVpHMk-TvobQr.0tFtTT.xaozFPI6_bwe5Z58MMiV6r-IfDDb0DzMnr0SBW",
        ],
        false_examples: &["Bot Framework Composer", "Authorization: Bot <token>"],
    },
    Rule {
        id: "telegram-bot-token",
        description: "Telegram bot token (bot id, then :AA and 33 characters)",
        anchors: &[":AA"],
        regex: r"(?-u)(?:^|[^0-9])(?P<secret>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?:[^A-Za-z0-9_-]|$)",
        max_len: 64,
        min_entropy: Some((Alphabet::Any, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "TELEGRAM_BOT_TOKEN=3144612431:AAst8Ox2AOeuzu0occ_-ClkDVOsWy8GtdPJ",
            "https://api.telegram.org/bot3144612431:AAst8Ox2AOeuzu0occ_-ClkDVOsWy8GtdPJ/sendMessage",
        ],
        false_examples: &[
            // A MAC address.
            "ether 00:AA:BB:CC:DD:EE",
            "123456789:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    Rule {
        id: "age-secret-key",
        description: "age file-encryption identity (AGE-SECRET-KEY-1, bech32)",
        anchors: &["AGE-SECRET-KEY-1"],
        regex: r"(?-u)\b(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        max_len: 80,
        min_entropy: Some((Alphabet::Base64, 3.5)),
        confidence: Confidence::High,
        true_examples: &[
            "AGE-SECRET-KEY-1RSC3U5ZYFAUZK559MGYELA3WXN3Z3ZTVLNF8U4ACADF4MMF9A0YW39DD4R",
        ],
        false_examples: &[
            "# public key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            "AGE-SECRET-KEY-1...",
        ],
    },
    Rule {
        id: "heroku-api-key",
        description: "Heroku platform API key (HRKU-)",
        anchors: &["HRKU-"],
        regex: r"(?-u)\b(?P<secret>HRKU-AA[0-9A-Za-z_-]{58})(?:[^0-9A-Za-z_-]|$)",
        max_len: 80,
        min_entropy: Some((Alphabet::Base64, 4.0)),
        confidence: Confidence::High,
        true_examples: &[
            "HEROKU_API_KEY=HRKU-AA2sw2yKGRgRy9lnfvoxUOhaepdKzUgPzLfcZfwp4-S82CM5lmoww8Cywaqd",
        ],
        false_examples: &[
            "HRKU-AA...",
            "HRKU-AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    // ----------------------------------------------------------- Generic
    Rule {
        id: "netrc-password",
        description: "Password of a .netrc machine entry",
        anchors: &["password"],
        // A value opening with `{`, `$`, `<` or `%` is a template, not a password.
        regex: r"(?-u)\bmachine\s+[\x21-\x7e]+\s+login\s+[\x21-\x7e]+(?:\s+account\s+[\x21-\x7e]+)?\s+password\s+(?P<secret>[\x21-\x7e--[{$<%]][\x21-\x7e]*)",
        max_len: 512,
        min_entropy: Some((Alphabet::Any, 2.0)),
        confidence: Confidence::High,
        true_examples: &[
            "machine api.github.com login octo-bot password Zq3X9fKp2LmN8vR4",
            "machine ftp.internal\n  login backup\n  password hunter2-Qx\n",
        ],
        false_examples: &[
            "machine learning password policy",
            "f'machine {host} login {self.username} password {self.password}'",
            "machine host login user password xxxxxxxx",
        ],
    },
    Rule {
        id: "generic-password",
        description:
            "Value assigned to a password, passwd, pwd or passphrase key: 8+ characters with a digit or symbol and enough entropy",
        anchors: &[
            "password",
            "Password",
            "PASSWORD",
            "passwd",
            "Passwd",
            "PASSWD",
            "passphrase",
            "Passphrase",
            "PASSPHRASE",
            // Bare upper-case PWD is the shell's working directory.
            "pwd=",
            "Pwd=",
            "pwd:",
            "pwd\"",
        ],
        regex: assignment!(r"(?i:passw(?:or)?d|pwd|passphrase)", password_value!()),
        max_len: 512,
        min_entropy: Some((Alphabet::Any, 3.0)),
        confidence: Confidence::Medium,
        true_examples: &[
            "DB_PASSWORD=Gi2xIOArAJ?LvM",
            r#"{"username": "svc", "password": "Z4~K8#iIFE+q"}"#,
            "Server=db01;Database=orders;Uid=sa;Pwd=WZ6cHLM~rNp7XKHH;",
            "smtp_passwd: 'k9Vb!tq2Xw'",
            "ssl.key.passphrase = correct-h0rse-Battery!",
        ],
        false_examples: &[
            "password=${DB_PASSWORD}",
            "password: ********",
            "PASSWORD_STORE_DIR=/home/user/.password-store",
            "--password=PASSWORD",
            "password = self.password",
            "password=aaaaaaaa1",
            "\"password\": \"\"",
            "Password:\nEnter your password",
            "MasterAuth.PasswordAutoscaling.EnabledCreateNodePool: %+vUpdateNodePool: %+v",
            "password = getpass2(prompt)",
            "pub const ERROR_WRONG_PASSWORD: WIN32_ERROR = 1323u32;",
        ],
    },
    Rule {
        id: "generic-secret",
        description:
            "Value assigned to a secret or private-key key: 16+ characters with a digit or symbol and high entropy",
        anchors: &[
            "secret",
            "Secret",
            "SECRET",
            "private_key",
            "PRIVATE_KEY",
            "privateKey",
            "PrivateKey",
        ],
        regex: assignment!(r"(?i:secret|private[_-]?key)", token_value!()),
        max_len: 512,
        min_entropy: Some((Alphabet::Any, 3.2)),
        confidence: Confidence::Medium,
        true_examples: &[
            "client_secret=2ojuozCqt2em4htUOQm0Pqf5",
            r#"{"clientSecret": "PJRSkfxLj0RLSBGNnedpv0GlV9kI5eRJ"}"#,
            "JWT_SECRET: sVNRNmsDW9N6guDYS3gg91sA",
            "PRIVATE_KEY=0x6f81c5451daa9396aa695a5f1e04d5e46df02fa8b0792848bb2f8dfa5fa0d193",
        ],
        false_examples: &[
            "secret_key = settings.SECRET_KEY",
            "client_secret=<client-secret>",
            "SECRET_KEY=1111111111111111",
            "secret=${SECRET}",
            "kubectl get secret my-app-tls -o yaml",
            "ed25519.PrivateKeydeprecated: golang.org/x/oauth2: Transport",
        ],
    },
    Rule {
        id: "generic-token",
        description:
            "Value assigned to a token key: 16+ characters with a digit or symbol and high entropy",
        anchors: &["token", "Token", "TOKEN"],
        regex: assignment!(r"(?i:token)", token_value!()),
        max_len: 512,
        min_entropy: Some((Alphabet::Any, 3.2)),
        confidence: Confidence::Medium,
        true_examples: &[
            "https://api.example.com/v1/export?access_token=2ef3132865bb63a0db32dddb01eab5fa&format=csv",
            "X-Auth-Token: PJRSkfxLj0RLSBGNnedpv0GlV9kI5eRJf2VT5ufO",
            r#"refreshToken: "sVNRNmsDW9N6guDYS3gg91sA""#,
        ],
        false_examples: &[
            "token_type: \"Bearer\"",
            "max_tokens=4096",
            "TOKEN=${GITHUB_TOKEN}",
            "tokenizer = AutoTokenizer.from_pretrained",
            // Strings packed together in a Go binary.
            "urn:ietf:params:oauth:token-type:saml2GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE=%v",
            "Unable to rotate token: %vHTTP2_PING_TIMEOUT_SECONDS",
            // JavaScript in a runtime's heap.
            "var token = this$1$1.getToken();",
            "exports2.TOKEN = exports2.STRICT_TOKEN = exports2.HEADER_CHARS;",
            "pub const MsV1_0LookupToken: MSV1_0_PROTOCOL_MESSAGE_TYPE = 15i32;",
            "token: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ],
    },
    Rule {
        id: "generic-api-key",
        description:
            "Value assigned to an api_key / apiKey / x-api-key key: 16+ characters with a digit or symbol and high entropy",
        anchors: &[
            "api_key", "apikey", "apiKey", "ApiKey", "API_KEY", "APIKEY", "api-key", "Api-Key",
            "API-KEY",
        ],
        regex: assignment!(r"(?i:api[_-]?key)", token_value!()),
        max_len: 512,
        min_entropy: Some((Alphabet::Any, 3.2)),
        confidence: Confidence::Medium,
        true_examples: &[
            "x-api-key: 2ef3132865bb63a0db32dddb01eab5fa",
            r#"{"apiKey": "PJRSkfxLj0RLSBGNnedpv0GlV9kI5eRJf2VT5ufO"}"#,
            "DATADOG_API_KEY=cce541ef9511e18c306df91cb0dfc3d5",
        ],
        false_examples: &[
            "api_key=YOUR_API_KEY_HERE",
            "apiKey: process.env.API_KEY",
            "API_KEY=0000000000000000",
            "api_key = os.environ[\"API_KEY\"]",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::BUILTIN_RULES;
    use crate::rules::{passes_entropy, BuiltinRule as Rule};
    use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
    use regex::bytes::Regex;

    /// A stand-in for the text detector's ASCII path, built the same way
    /// (sorted, deduplicated literals; leftmost-first; non-overlapping), so
    /// anchor shadowing between rules shows up here, next to the rules.
    struct Sim {
        automaton: AhoCorasick,
        literals: Vec<&'static str>,
        regexes: Vec<Regex>,
    }

    /// One confirmed finding: the whole regex match and the secret span.
    struct Found {
        whole: (usize, usize),
        secret: (usize, usize),
    }

    impl Sim {
        fn new() -> Sim {
            let mut literals: Vec<&'static str> = BUILTIN_RULES
                .iter()
                .flat_map(|r| r.anchors.iter().copied())
                .collect();
            literals.sort_unstable();
            literals.dedup();
            let automaton = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(&literals)
                .unwrap();
            let regexes = BUILTIN_RULES
                .iter()
                .map(|r| Regex::new(r.regex).unwrap_or_else(|e| panic!("{}: {e}", r.id)))
                .collect();
            Sim {
                automaton,
                literals,
                regexes,
            }
        }

        fn find(&self, index: usize, text: &[u8]) -> Vec<Found> {
            let rule = &BUILTIN_RULES[index];
            let regex = &self.regexes[index];
            let mut found = Vec::new();
            for hit in self.automaton.find_iter(text) {
                if !rule
                    .anchors
                    .contains(&self.literals[hit.pattern().as_usize()])
                {
                    continue;
                }
                let reach = rule.max_len + 1;
                let lo = hit.end().saturating_sub(reach);
                let hi = (hit.start() + reach).min(text.len());
                for caps in regex.captures_iter(&text[lo..hi]) {
                    let whole = caps.get(0).unwrap();
                    if whole.end() + lo <= hit.start() || whole.start() + lo >= hit.end() {
                        continue;
                    }
                    let secret = caps.name("secret").unwrap_or(whole);
                    if secret.is_empty() || !passes_entropy(rule.min_entropy, secret.as_bytes()) {
                        continue;
                    }
                    found.push(Found {
                        whole: (lo + whole.start(), lo + whole.end()),
                        secret: (lo + secret.start(), lo + secret.end()),
                    });
                }
            }
            found
        }
    }

    fn rule(id: &str) -> (usize, &'static Rule) {
        BUILTIN_RULES
            .iter()
            .enumerate()
            .find(|(_, r)| r.id == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
    }

    #[test]
    fn regexes_compile_with_byte_semantics() {
        for r in BUILTIN_RULES {
            assert!(
                r.regex.starts_with("(?-u)"),
                "{}: regex must start with (?-u)",
                r.id
            );
            let re = Regex::new(r.regex).unwrap_or_else(|e| panic!("{}: {e}", r.id));
            let groups: Vec<_> = re.capture_names().flatten().collect();
            assert!(
                groups.iter().all(|&g| g == "secret"),
                "{}: stray named group",
                r.id
            );
            assert!(!r.description.is_empty(), "{}", r.id);
        }
    }

    #[test]
    fn anchors_are_printable_and_do_not_shadow_other_rules() {
        for r in BUILTIN_RULES {
            for a in r.anchors {
                assert!(a.len() >= 3, "{}: anchor {a:?} is too short", r.id);
                assert!(
                    a.bytes().all(|b| (0x20..0x7f).contains(&b)),
                    "{}: anchor {a:?}",
                    r.id
                );
            }
        }
        // Sorted leftmost-first: a proper prefix always beats its extension,
        // so the extension's rule would never see that spot.
        for x in BUILTIN_RULES {
            for y in BUILTIN_RULES {
                if x.id == y.id {
                    continue;
                }
                for a in x.anchors {
                    for b in y.anchors {
                        assert!(
                            a == b || !b.starts_with(a),
                            "anchor {a:?} of {} shadows anchor {b:?} of {}",
                            x.id,
                            y.id
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn examples_behave() {
        let sim = Sim::new();
        let mut failures = Vec::new();
        for (i, r) in BUILTIN_RULES.iter().enumerate() {
            for ex in r.true_examples {
                if !r.anchors.iter().any(|a| ex.contains(a)) {
                    failures.push(format!("{}: true example has no anchor: {ex:?}", r.id));
                }
                let found = sim.find(i, ex.as_bytes());
                if found.is_empty() {
                    failures.push(format!("{}: missed {ex:?}", r.id));
                }
                for f in &found {
                    let len = f.whole.1 - f.whole.0;
                    if len > r.max_len {
                        failures.push(format!(
                            "{}: match of {len} exceeds max_len in {ex:?}",
                            r.id
                        ));
                    }
                }
            }
            for ex in r.false_examples {
                for f in sim.find(i, ex.as_bytes()) {
                    failures.push(format!(
                        "{}: matched false example {ex:?} at {:?}",
                        r.id,
                        &ex[f.secret.0..f.secret.1]
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn secrets_are_the_credential_not_the_context() {
        let sim = Sim::new();
        let cases: &[(&str, &str, &str)] = &[
            (
                "aws-secret-access-key",
                "aws_secret_access_key = GbVBGAxDHAqI2fvwkMfG6kvrsKrrFh2MPVQqvV1Z\n",
                "GbVBGAxDHAqI2fvwkMfG6kvrsKrrFh2MPVQqvV1Z",
            ),
            (
                "url-userinfo-password",
                "redis://:s3cr3tP4ssw0rdX@cache:6379",
                "s3cr3tP4ssw0rdX",
            ),
            (
                "generic-password",
                "Server=db01;Uid=sa;Pwd=WZ6cHLM~rNp7XKHH;Encrypt=yes",
                "WZ6cHLM~rNp7XKHH",
            ),
            (
                "generic-token",
                "?access_token=2ef3132865bb63a0db32dddb01eab5fa&format=csv",
                "2ef3132865bb63a0db32dddb01eab5fa",
            ),
            (
                "azure-sas-signature",
                "?sv=2022-11-02&sp=r&sig=2pvbIOKME9pvR2mw9MSqmfKb%2FTJGUmrEqHgZPZ8gqSi%3D&x=1",
                "2pvbIOKME9pvR2mw9MSqmfKb%2FTJGUmrEqHgZPZ8gqSi%3D",
            ),
            (
                "http-basic-auth",
                "Authorization: Basic c3ZjLWJhY2t1cDp2amRFQ1ByV3ZtU05lUmM3\r\n",
                "c3ZjLWJhY2t1cDp2amRFQ1ByV3ZtU05lUmM3",
            ),
        ];
        for &(id, text, want) in cases {
            let (i, _) = rule(id);
            let found = sim.find(i, text.as_bytes());
            assert!(
                found.iter().any(|f| &text[f.secret.0..f.secret.1] == want),
                "{id}: expected secret {want:?} in {text:?}"
            );
        }
    }

    /// A deterministic stand-in for key material: base64 characters from a
    /// linear congruential generator.
    fn fake_base64(n: usize) -> String {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                B64[(x >> 58) as usize] as char
            })
            .collect()
    }

    fn lines(body: &str, sep: &str) -> String {
        body.as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// A 4096-bit RSA key is about 3.2 KB of PEM (and a little more as a
    /// JSON string); it must be matched whole, BEGIN through END.
    #[test]
    fn large_keys_fit_in_max_len() {
        let sim = Sim::new();
        let body = fake_base64(3168);
        let cases = [
            (
                "pem-rsa-private-key",
                format!(
                    "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                    lines(&body, "\n")
                ),
            ),
            (
                "pem-pkcs8-private-key",
                format!(
                    "-----BEGIN PRIVATE KEY-----\r\n{}\r\n-----END PRIVATE KEY-----",
                    lines(&body, "\r\n")
                ),
            ),
            (
                "gcp-service-account-private-key",
                format!(
                    r#""private_key": "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n""#,
                    lines(&body, r"\n")
                ),
            ),
        ];
        for (id, text) in cases {
            let (i, _) = rule(id);
            let padded = format!("junk before\n{text}\njunk after");
            let found = sim.find(i, padded.as_bytes());
            assert!(
                found
                    .iter()
                    .any(|f| padded[f.secret.0..f.secret.1].contains("-----END ")),
                "{id}: a {}-byte key was not matched whole",
                text.len()
            );
        }
    }

    /// A key whose tail was overwritten in memory is still redacted.
    #[test]
    fn truncated_pem_body_is_still_found() {
        let sim = Sim::new();
        let (i, _) = rule("pem-rsa-private-key");
        let text = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\0\0\0\0",
            lines(&fake_base64(512), "\n")
        );
        assert!(!sim.find(i, text.as_bytes()).is_empty());
    }
}
