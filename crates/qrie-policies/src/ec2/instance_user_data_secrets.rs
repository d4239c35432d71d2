//! `ec2-instance-user-data-secrets`: the instance's user data holds a secret in
//! clear text. User data is readable by anyone allowed
//! `ec2:DescribeInstanceAttribute` and by every process on the instance through
//! the metadata service, and it is copied into launch templates and AMI
//! pipelines.
//!
//! What counts as a secret, each line of the decoded user data on its own:
//! - a private key block (`BEGIN … PRIVATE KEY`);
//! - an AWS access key id (`AKIA…`, `ASIA…`) when the user data also holds a
//!   40-character secret access key (a key id alone grants nothing);
//! - an assignment (`=` or `: `) to a name that says password, secret, token,
//!   api key or credential, whose value is a literal: references and templates
//!   (`${PASSWORD}`, `$VAR`, `$(aws secretsmanager …)`, `{{ vault }}`, `<password>`,
//!   `%PW%`) are not secrets, nor are empty values.
//!
//! The evidence shows the line with the secret masked, never the secret.

use qrie_model::{
    ComplianceRef, EvalContext, MissingData, PolicyDef, Remediation, Resource, Service, Severity, Verdict,
};
use serde_json::{json, Value};

use super::instance;

pub static POLICY: PolicyDef = PolicyDef {
    id: "ec2-instance-user-data-secrets",
    title: "EC2 instance user data contains secrets",
    description: "The instance's user data (its launch script) contains a secret in clear text: a private key, an \
        AWS access key pair, or a password, token or API key assigned to a literal value. User data is not \
        encrypted or access-controlled like a secret: anyone allowed ec2:DescribeInstanceAttribute reads it, every \
        process on the instance reads it from the metadata service, and it is copied into launch templates and \
        images. The evidence gives the line numbers with the secret values masked.",
    service: Service::Ec2,
    resource_type: "AWS::EC2::Instance",
    category: "secrets",
    severity: Severity::of(80),
    remediation: Remediation {
        steps: &[
            "Rotate every secret named in the evidence: it must be considered disclosed.",
            "Store the secrets in AWS Secrets Manager or SSM Parameter Store (SecureString), grant the instance role \
             read access to them, and fetch them at boot (e.g. aws secretsmanager get-secret-value).",
            "Replace the user data (the instance must be stopped), and fix the launch templates and automation that \
             produced it; for AWS keys, use the instance role instead of access keys.",
        ],
        cli: "aws secretsmanager create-secret --name app/db-password --secret-string 'NEW-PASSWORD'\n\
              aws ec2 stop-instances --instance-ids i-XXXXXXXX\n\
              aws ec2 modify-instance-attribute --instance-id i-XXXXXXXX --attribute userData --value file://user-data-without-secrets.b64",
        console: "Amazon EC2 > Instances > INSTANCE > Instance state > Stop instance; then Actions > Instance \
                  settings > Edit user data: remove the secrets > Save",
        iac: r#"resource "aws_instance" "app" {
  # ...
  iam_instance_profile = aws_iam_instance_profile.app.name
  # The secret is fetched at boot with the instance role, never written here.
  user_data = <<-EOT
    #!/bin/bash
    DB_PASSWORD="$(aws secretsmanager get-secret-value --secret-id app/db-password --query SecretString --output text)"
  EOT
}"#,
    },
    compliance: &[
        ComplianceRef { framework: "nist-800-53-r5", controls: &["IA-5(7)", "SC-28"] },
        ComplianceRef { framework: "pci-dss-4.0", controls: &["8.3.2", "8.6.2"] },
        ComplianceRef { framework: "cmmc-2.0", controls: &["IA.L2-3.5.10"] },
    ],
    params: &[],
    related: None,
    evaluate,
};

fn evaluate(r: &Resource, _: &EvalContext) -> Result<Verdict, MissingData> {
    if instance::live(r)?.is_none() {
        return Ok(Verdict::NotApplicable);
    }
    // DescribeInstanceAttribute userData: null when the instance has none.
    let encoded = match r.field("UserData")? {
        Value::Null => return Ok(Verdict::Pass),
        Value::String(s) => s,
        other => return Err(MissingData(format!("UserData has an unexpected shape: {other}"))),
    };
    let bytes = base64_decode(encoded).ok_or_else(|| MissingData("UserData is not valid base64".into()))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        // cloud-init accepts gzip-compressed user data; it cannot be read here.
        return Err(MissingData("UserData is gzip-compressed and cannot be inspected".into()));
    }
    let text = String::from_utf8_lossy(&bytes);
    let findings = find_secrets(&text);
    if findings.is_empty() {
        return Ok(Verdict::Pass);
    }
    Ok(Verdict::Fail(json!({"Path": "UserData", "Secrets": findings})))
}

/// Standard base64 (whitespace ignored), as EC2 returns user data.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = clean.strip_suffix(b"==").or_else(|| clean.strip_suffix(b"=")).unwrap_or(&clean);
    if !clean.len().is_multiple_of(4) || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        out.extend_from_slice(&acc.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// Names that say the value is a secret (compared lowercase, without `_`, `-`, `.`).
const SECRET_NAMES: &[&str] =
    &["password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "credential"];

/// Names that say the value only points at a secret (`--secret-id`,
/// `password_file`, `token_path`) or identifies a key (`aws_access_key_id`).
const REFERENCE_SUFFIXES: &[&str] = &["id", "arn", "name", "file", "path", "url", "ref"];

/// Whether an assignment or option name says its value is a secret.
fn is_secret_name(name: &str) -> bool {
    let normalized: String =
        name.chars().filter(|c| !matches!(c, '_' | '-' | '.')).collect::<String>().to_ascii_lowercase();
    !name.starts_with('$')
        && SECRET_NAMES.iter().any(|s| normalized.contains(s))
        && !REFERENCE_SUFFIXES.iter().any(|s| normalized.ends_with(s))
}

/// Where a secret value sits in a line (byte range) and what kind it is.
struct Hit {
    kind: &'static str,
    range: std::ops::Range<usize>,
}

fn find_secrets(text: &str) -> Vec<Value> {
    let has_secret_key = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+')).any(is_secret_key);
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut hits = assignments(line);
        if has_secret_key {
            hits.extend(access_key_ids(line));
            hits.extend(secret_keys(line));
        }
        let private_key = line.contains("BEGIN") && line.contains("PRIVATE KEY");
        if hits.is_empty() && !private_key {
            continue;
        }
        let mut kinds: Vec<&str> = hits.iter().map(|h| h.kind).collect();
        if private_key {
            kinds.push("private-key");
        }
        kinds.sort();
        kinds.dedup();
        findings.push(json!({"Line": n + 1, "Kinds": kinds, "Text": mask(line, &mut hits)}));
    }
    findings
}

/// The line with every hit replaced by `****` (an access key id keeps its
/// prefix). On a line that holds a secret, every quoted literal is masked too:
/// the heuristics cannot tell which of them is another secret.
fn mask(line: &str, hits: &mut Vec<Hit>) -> String {
    let mut open: Option<(usize, char)> = None;
    for (i, c) in line.char_indices() {
        match open {
            None if matches!(c, '"' | '\'') => open = Some((i + 1, c)),
            Some((start, q)) if c == q => {
                // A quoted name (`"api_key": …`) is kept: it says what the value is.
                let is_name = line[i + 1..].trim_start().starts_with([':', '=']);
                if i > start && !is_name && !hits.iter().any(|h| h.range.start < i && start < h.range.end) {
                    hits.push(Hit { kind: "quoted", range: start..i });
                }
                open = None;
            }
            _ => {}
        }
    }
    hits.sort_by_key(|h| h.range.start);
    let mut out = String::new();
    let mut at = 0;
    for h in hits.iter() {
        if h.range.start < at {
            continue;
        }
        out.push_str(&line[at..h.range.start]);
        if h.kind == "aws-access-key" {
            out.push_str(&line[h.range.start..h.range.start + 4]);
        }
        out.push_str("****");
        at = h.range.end;
    }
    out.push_str(&line[at..]);
    out.trim().to_string()
}

fn assignments(line: &str) -> Vec<Hit> {
    let bytes = line.as_bytes();
    let mut hits = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        // `=` (not `==`, `!=`, `<=`, `>=`), or `: ` as in YAML and HTTP-style headers.
        let is_assignment = match b {
            b'=' => {
                !matches!(bytes.get(i + 1), Some(b'='))
                    && !matches!(i.checked_sub(1).map(|j| bytes[j]), Some(b'=' | b'!' | b'<' | b'>'))
            }
            b':' => matches!(bytes.get(i + 1), Some(b' ')),
            _ => false,
        };
        if !is_assignment {
            continue;
        }
        if !is_secret_name(name_before(&line[..i])) {
            continue;
        }
        if let Some(range) = value_after(line, i + 1) {
            hits.push(Hit { kind: "assignment", range });
        }
    }
    hits.extend(options(line));
    hits
}

/// Command-line options given a secret: `--password hunter2`, PowerShell's
/// `-NewPassword hunter2`. The value is the next word unless it is another
/// option, a reference or a template.
fn options(line: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut words = line.split_whitespace().map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w)).peekable();
    while let Some((_, word)) = words.next() {
        let Some(name) = word.strip_prefix('-') else { continue };
        if name.contains('=') || !is_secret_name(name.trim_start_matches('-')) {
            continue;
        }
        if let Some(&(at, value)) = words.peek() {
            if value.starts_with('-') {
                continue;
            }
            if let Some(range) = value_after(line, at) {
                hits.push(Hit { kind: "option", range });
            }
        }
    }
    hits
}

/// The identifier just before an assignment operator: `a.b_c-d` after trimming
/// spaces and a closing quote (`"password" : "…"`, `password ='…'`).
fn name_before(s: &str) -> &str {
    let s = s.trim_end().trim_end_matches(['"', '\'']);
    let start = s
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &s[start..]
}

/// The literal value after an operator at `from`, or `None` for an empty value,
/// a reference or a template.
fn value_after(line: &str, from: usize) -> Option<std::ops::Range<usize>> {
    let rest = &line[from..];
    let skipped = rest.len() - rest.trim_start().len();
    let mut start = from + skipped;
    let quote = line[start..].chars().next().filter(|c| matches!(c, '"' | '\''));
    if quote.is_some() {
        start += 1;
    }
    let end = match quote {
        Some(q) => line[start..].find(q).map_or(line.len(), |e| start + e),
        None => line[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | ',' | '}' | ')'))
            .map_or(line.len(), |e| start + e),
    };
    let value = &line[start..end];
    let placeholder = value.is_empty()
        || value.starts_with('$')
        || value.starts_with("{{")
        || value.starts_with('<')
        || value.starts_with('%')
        || value.chars().all(|c| c == '*' || c == 'x' || c == 'X');
    (!placeholder).then_some(start..end)
}

fn is_access_key_id(word: &str) -> bool {
    word.len() == 20
        && (word.starts_with("AKIA") || word.starts_with("ASIA"))
        && word.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// 40 characters of base64 mixing cases and digits: the shape of a secret access key.
fn is_secret_key(word: &str) -> bool {
    word.len() == 40
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && word.bytes().any(|b| b.is_ascii_lowercase())
        && word.bytes().any(|b| b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_digit())
}

/// Byte ranges of the words of `line` (split on anything but base64 characters) that satisfy `pred`.
fn words(line: &str, kind: &'static str, pred: fn(&str) -> bool) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain(std::iter::once((line.len(), ' '))) {
        let in_word = c.is_ascii_alphanumeric() || c == '/' || c == '+';
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if pred(&line[s..i]) {
                    hits.push(Hit { kind, range: s..i });
                }
                start = None;
            }
            _ => {}
        }
    }
    hits
}

fn access_key_ids(line: &str) -> Vec<Hit> {
    words(line, "aws-access-key", is_access_key_id)
}

fn secret_keys(line: &str) -> Vec<Hit> {
    words(line, "aws-secret-key", is_secret_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn encode(text: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn with_user_data(user_data: Value) -> Resource {
        let mut r = instance(json!({"InstanceId": "i-0abc", "State": {"Code": 16, "Name": "running"}}));
        r.configuration["UserData"] = user_data;
        r
    }

    fn secrets(script: &str) -> Vec<Value> {
        match run(&POLICY, &with_user_data(json!(encode(script)))) {
            Verdict::Pass => vec![],
            Verdict::Fail(e) => e["Secrets"].as_array().unwrap().clone(),
            other => panic!("{script}: {other:?}"),
        }
    }

    fn masked(script: &str) -> Vec<String> {
        secrets(script).iter().map(|s| s["Text"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd", "#!/bin/bash\necho hi\n"] {
            assert_eq!(base64_decode(&encode(s)).unwrap(), s.as_bytes(), "{s:?}");
        }
        assert_eq!(base64_decode("aGk=\n"), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("aGk*"), None);
    }

    #[test]
    fn literal_secrets_are_found_and_masked() {
        assert_eq!(masked("export DB_PASSWORD=hunter2hunter2"), ["export DB_PASSWORD=****"]);
        assert_eq!(masked("  password: 'S3cr3t!'"), ["password: '****'"]);
        assert_eq!(masked(r#"{"api_key": "abcdef123456"}"#), [r#"{"api_key": "****"}"#]);
        assert_eq!(
            masked("mysql -u root --host db -e x; MYSQL_PWD_TOKEN=abc123 run"),
            ["mysql -u root --host db -e x; MYSQL_PWD_TOKEN=**** run"]
        );
        assert_eq!(masked("-----BEGIN RSA PRIVATE KEY-----"), ["-----BEGIN RSA PRIVATE KEY-----"]);
        assert_eq!(secrets("-----BEGIN OPENSSH PRIVATE KEY-----")[0]["Kinds"], json!(["private-key"]));
        assert_eq!(masked("runelf --password mypassword --username bob"), ["runelf --password **** --username bob"]);
        assert_eq!(masked("Set-Thing -NewPassword 'p w' -Force"), ["Set-Thing -NewPassword '****' -Force"]);
        // Two secrets on one line: both masked.
        assert_eq!(masked("user=bob password=a1 secret=b2"), ["user=bob password=**** secret=****"]);
    }

    #[test]
    fn placeholders_and_references_are_not_secrets() {
        for script in [
            "DB_PASSWORD=${DB_PASSWORD}",
            "export PASSWORD=$PASSWORD",
            r#"PASSWORD="$(aws secretsmanager get-secret-value --secret-id db --query SecretString --output text)""#,
            "password: {{ vault_db_password }}",
            "password=<your password here>",
            "set PASSWORD=%DB_PASSWORD%",
            "password=",
            "password = ''",
            "password: ********",
            r#"if [ "$PASSWORD" == "" ]; then exit 1; fi"#,
            "aws ssm get-parameter --name /app/token --with-decryption",
            "# rotate the api key every 90 days",
            "echo 'BEGIN setup'",
            // A key id without a secret key grants nothing.
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            // Pointers to secrets.
            "DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id app/db --query SecretString)",
            "mysql --password-file /etc/app/pw",
            "tool --token $TOKEN --api-key ${API_KEY}",
            "vault login --password -",
        ] {
            assert_eq!(secrets(script), Vec::<Value>::new(), "{script}");
        }
    }

    #[test]
    fn access_key_pairs() {
        let script = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
        let found = secrets(script);
        assert_eq!(
            found,
            [
                json!({"Line": 2, "Kinds": ["aws-access-key"], "Text": "aws_access_key_id = AKIA****"}),
                json!({"Line": 3, "Kinds": ["assignment", "aws-secret-key"], "Text": "aws_secret_access_key = ****"}),
            ]
        );
        // Not in an assignment: the id keeps its prefix, the secret is masked.
        let cli = "aws configure set x ASIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(masked(cli), ["aws configure set x ASIA**** ****"]);
        let text = serde_json::to_string(&found).unwrap();
        assert!(!text.contains("wJalr") && !text.contains("IOSFODNN7"), "{text}");
    }

    #[test]
    fn recorded_user_data() {
        let data = recorded("ec2.DescribeInstanceAttribute", "test_ec2_userdata__ec2.DescribeInstanceAttribute_1.json");
        let user_data = data["UserData"]["Value"].clone();
        let e = evidence(run(&POLICY, &with_user_data(user_data.clone())));
        let lines: Vec<(u64, &str)> = e["Secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["Line"].as_u64().unwrap(), s["Text"].as_str().unwrap()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, "# -Djavax.net.ssl.trustStorePassword=****"),
                (3, "# runelf --password **** --username bob"),
                (4, "# somewindows powershell { password ='****' }"),
                (5, "# client_secret=****"),
                (7, "# ldap.password=****"),
                (10, "# BEGIN RSA PRIVATE KEY"),
                (11, "# access_token=****"),
                (
                    13,
                    r#"# Set-ADAccountPassword -Credential **** -OldPassword **** -NewPassword **** -AsPlainText \"****""#
                ),
                (15, "# passwd='****'"),
            ]
        );
        // Not reported: a key id without its secret key (line 2), `ldap.username` (6),
        // and secrets passed without a telling name (8 chpasswd, 12 Basic auth, 14 usermod -p).
        // None of the recorded secret values appears in the evidence.
        let text = e.to_string();
        for secret in [
            "p@ssword",
            "p@ssw0rd",
            "mypassword",
            "12324easdfgh1234567xcvb",
            "SH3nd92ksi1943",
            "asdfg12345fgh3456ghjk",
            "passworrrrrd123",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn no_user_data_unreadable_and_odd_shapes() {
        assert_eq!(run(&POLICY, &with_user_data(Value::Null)), Verdict::Pass);
        assert_eq!(run(&POLICY, &with_user_data(json!(encode("#!/bin/bash\nyum -y update\n")))), Verdict::Pass);
        let mut absent = with_user_data(Value::Null);
        absent.configuration.as_object_mut().unwrap().remove("UserData");
        assert_eq!(error_reason(run(&POLICY, &absent)), "UserData was not collected");
        assert!(
            error_reason(run(&POLICY, &unreadable(with_user_data(Value::Null), "UserData"))).contains("AccessDenied")
        );
        assert_eq!(error_reason(run(&POLICY, &with_user_data(json!("not base64!")))), "UserData is not valid base64");
        assert!(error_reason(run(&POLICY, &with_user_data(json!("H4sIAAAAAAAA")))).contains("gzip"));
        let mut terminated = with_user_data(json!(encode("password=abc")));
        terminated.configuration["Instance"]["State"]["Name"] = json!("terminated");
        assert_eq!(run(&POLICY, &terminated), Verdict::NotApplicable);
    }
}
