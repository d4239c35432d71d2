//! The binary's switch between the CLI and the Lambda functions, as Lambda
//! starts it: `QRIE_LAMBDA` decides, and a wrong setup stops it with an error
//! that says what to fix (the handlers are tested in src/lambda/tests.rs).

use std::process::{Command, Output};

fn qrie(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrie"));
    cmd.env_remove("QRIE_LAMBDA").env_remove("QRIE_STORE").env_remove("AWS_LAMBDA_RUNTIME_API");
    cmd.args(["--version"]).envs(env.iter().copied()).output().expect("run qrie")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn qrie_lambda_picks_the_function_and_bad_setups_fail_clearly() {
    // Unset or empty: the CLI (which answers --version).
    for env in [&[][..], &[("QRIE_LAMBDA", "")][..]] {
        let out = qrie(env);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("qrie"));
    }
    let out = qrie(&[("QRIE_LAMBDA", "apii")]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("QRIE_LAMBDA=\"apii\"") && e.contains("api, inventory, scanner or events"), "{e}");
    assert!(!e.contains("panicked"), "{e}");

    let out = qrie(&[("QRIE_LAMBDA", "scanner")]);
    let e = stderr(&out);
    assert!(!out.status.success() && e.contains("AWS_LAMBDA_RUNTIME_API"), "{e}");

    // In Lambda (a runtime API address given), the store must be named.
    let out = qrie(&[("QRIE_LAMBDA", "events"), ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")]);
    let e = stderr(&out);
    assert!(!out.status.success() && e.contains("QRIE_STORE must name the store"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}
