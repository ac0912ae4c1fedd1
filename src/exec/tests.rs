use super::*;

#[test]
fn docker_help_hint_is_left_out_of_what_is_shown() {
    let chunk = b"docker: Error response from daemon: no such host\n\nRun 'docker run --help' for more information\n";
    assert_eq!(
        &*without_help_hint(chunk),
        b"docker: Error response from daemon: no such host\n"
    );
    let progress = b"abc: Pulling fs layer\n\n";
    assert_eq!(&*without_help_hint(progress), progress);
}

#[test]
fn a_command_over_its_time_limit_is_killed_and_fails_as_timed_out() {
    let started = std::time::Instant::now();
    let slow = Cmd::new(["sleep", "30"]).time_limit(std::time::Duration::from_millis(300));
    let failure = slow.run().unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        failure.stderr.starts_with("timed out after"),
        "{}",
        failure.stderr
    );
    let quick = Cmd::new(["echo", "in time"]).time_limit(std::time::Duration::from_secs(5));
    assert_eq!(quick.run().unwrap().stdout, "in time\n");
}

#[test]
fn shown_quotes_arguments_and_redacts_secrets() {
    let cmd = Cmd::new(["engine", "run", "it's", "$(x)"]).secret_env("TOKEN", "hunter2");
    assert!(!format!("{cmd:?}").contains("hunter2"));
    assert_eq!(cmd.shown(), r#"TOKEN="$TOKEN" engine run 'it'\''s' '$(x)'"#);
    assert!(!cmd.shown().contains("hunter2"));
}

#[test]
fn without_env_keeps_a_variable_from_the_child_and_shows_it() {
    // HOME is in every test's environment.
    let script = "printf '%s|%s' \"${HOME:-gone}\" \"$TOKEN\"";
    let cmd = Cmd::new(["/bin/sh", "-c", script])
        .without_env(&["HOME".into(), "TOKEN".into()])
        .secret_env("TOKEN", "given");
    assert_eq!(cmd.run().unwrap().stdout, "gone|given");
    assert!(
        cmd.shown()
            .starts_with(r#"env -u HOME -u TOKEN TOKEN="$TOKEN" /bin/sh"#)
    );
}

#[test]
fn run_captures_output_and_failure() {
    let ok = Cmd::new(["sh", "-c", "printf out; printf err >&2"])
        .run()
        .unwrap();
    assert_eq!(ok.stdout, "out");
    assert_eq!(ok.stderr, "err");
    let fail = Cmd::new(["sh", "-c", "echo boom >&2; exit 3"])
        .run()
        .unwrap_err();
    assert_eq!(fail.code, Some(3));
    assert_eq!(fail.stderr_tail(), "boom");
    let missing = Cmd::new(["clauderon-no-such-program"]).run().unwrap_err();
    assert!(missing.not_found);
}
