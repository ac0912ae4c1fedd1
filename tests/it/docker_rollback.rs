//! Against a REAL Docker engine: a create that fails, hangs, races or is
//! interrupted leaves nothing half made.

use crate::common;

use crate::common::docker::{assert_no_trace, state_of};
use crate::common::filters::{engine_transcript, snapshot};
use crate::common::{BASE_IMAGE, Env, NOBASH_IMAGE, docker_ok, docker_ready, unique};

#[test]
fn failed_container_start_rolls_everything_back() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("rollback");
    let r = env.create_from(&name, "x", NOBASH_IMAGE, &[]).fails();
    snapshot!(engine_transcript(
        &["create", &name, "--image", NOBASH_IMAGE],
        &r
    ));
    assert_no_trace(&env, &name);
    // The name is free again.
    env.create(&name, "x", &[]).ok();
}

#[test]
fn missing_image_with_never_pull_policy_is_refused_and_rolled_back() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("noimg");
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .create_from(&name, "x", "clauderon-no-such-image:0", &[])
        .fails();
    // Classified from `docker create`'s own stderr (no probe in advance).
    let mut shown = engine_transcript(&["create", &name, "--pull-policy", "never"], &r);
    assert_no_trace(&env, &name);
    // With pulling allowed, the pull fails (no registry here) and is rolled back.
    let r = env
        .run(&[
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--image",
            "clauderon-no-such-image:0",
        ])
        .fails();
    shown.push_str(&engine_transcript(&["create", &name], &r));
    // (`create NAME` stands for `create --name NAME --repo REPO --prompt x
    // --image clauderon-no-such-image:0`.)
    snapshot!(shown);
    assert_no_trace(&env, &name);
}

#[test]
fn concurrent_creates_of_one_name_have_exactly_one_winner() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("race");
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.create_command(&name, "race", BASE_IMAGE, &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let winners = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
    );
    // The winner's session is intact.
    env.wait_for_runs(&name, 1);
    assert_eq!(state_of(&env, &name), "running");
    assert!(env.worktree(&name).join("README").exists());
}

#[test]
fn interrupted_create_leaves_nothing_half_made() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    for delay_ms in [300u64, 700, 1100] {
        let name = unique("sigterm");
        let repo = env.repo().to_string_lossy().to_string();
        let args = [
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--image",
            common::BASE_IMAGE,
            "--pull-policy",
            "never",
        ];
        let child = env
            .command(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            // Finished before the signal: a whole session.
            Some(0) => assert_eq!(state_of(&env, &name), "running"),
            Some(130) => {
                assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
                assert_no_trace(&env, &name);
            }
            // Killed before it started changing anything.
            None => assert_no_trace(&env, &name),
            other => panic!("exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }
}

#[test]
fn a_run_that_fails_at_start_leaves_no_container() {
    if !docker_ready() {
        return;
    }
    // An image where /opt is a file: the container is made, then fails to
    // start (the helper cannot be mounted at /opt/clauderon/init).
    let image = "clauderon-test-badopt:1";
    if !common::image_exists(image) {
        let dockerfile = format!("FROM {BASE_IMAGE}\nRUN rm -rf /opt && touch /opt\n");
        let mut build = std::process::Command::new("docker")
            .args(["build", "-q", "-t", image, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut build.stdin.take().unwrap(), dockerfile.as_bytes()).unwrap();
        assert!(build.wait().unwrap().success(), "docker build of {image}");
    }
    let env = Env::new();
    let name = unique("badopt");
    let r = env.create_from(&name, "x", image, &[]).fails();
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    assert_no_trace(&env, &name);
    let left = docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=clauderon.home={}", env.home().display()),
    ]);
    assert!(left.trim().is_empty(), "a container is left: {left}");
}

#[test]
fn a_hanging_on_create_times_out_and_rolls_back() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    env.append_config("[lifecycle]\non_create_timeout = 2\n");
    let name = unique("hang");
    let started = std::time::Instant::now();
    let r = env
        .create(&name, "x", &["--on-create", "sleep 300"])
        .fails();
    assert!(
        started.elapsed().as_secs() < 30,
        "create waited {:?}",
        started.elapsed()
    );
    assert!(
        r.stderr.contains("did not finish within 2 s") && r.stderr.contains("on_create_timeout"),
        "{}",
        r.stderr
    );
    assert_no_trace(&env, &name);
}

#[test]
fn a_session_being_created_cannot_be_deleted_at_the_same_time() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("busy");
    let create = env
        .create_command(&name, "x", BASE_IMAGE, &["--on-create", "sleep 3"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until create is in its on-create wait (the worktree exists).
    for _ in 0..100 {
        if env.worktree(&name).join(".clauderon").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = env.run(&["delete", "--force", &name]).fails();
    assert!(
        r.stderr
            .contains("another clauderon command is changing session"),
        "{}",
        r.stderr
    );
    assert!(create.wait_with_output().unwrap().status.success());
    env.run(&["delete", "--force", &name]).ok();
    assert!(!env.worktree(&name).exists());
}
