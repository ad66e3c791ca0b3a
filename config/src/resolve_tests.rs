//! Unit tests of [`super::resolve`]: defaults, merging, and every error it can give.

use super::*;
use otedama_proto::chain::{Coin, Network};

const FILE: &str = "/etc/otedama/otedama.toml";

fn toml(text: &str) -> RawOptions {
    RawOptions::from_toml(text, Path::new(FILE)).expect("test TOML is valid")
}

/// Layers with a home directory and the given file, environment and flags, each as TOML text.
fn layers(file: Option<&str>, env: &str, cli: &str) -> Layers {
    Layers {
        file: file.map(|t| (toml(t), PathBuf::from(FILE))),
        env: toml(env),
        cli: toml(cli),
        home: Some("/home/m".into()),
    }
}

fn ok(file: Option<&str>, env: &str, cli: &str) -> NodeConfig {
    resolve(&layers(file, env, cli)).expect("valid configuration")
}

fn err(file: Option<&str>, env: &str, cli: &str) -> String {
    resolve(&layers(file, env, cli))
        .expect_err("invalid configuration")
        .to_string()
}

#[test]
fn defaults_for_litecoin_mainnet() {
    let c = ok(None, "", "");
    assert_eq!((c.coin, c.network), (Coin::Litecoin, Network::Mainnet));
    assert_eq!(c.data_dir, Path::new("/home/m/.otedama/litecoin-mainnet"));
    assert_eq!(c.daemon.urls.len(), 1);
    assert_eq!(c.daemon.urls[0].to_string(), "http://127.0.0.1:9332");
    assert_eq!(
        c.daemon.auth,
        DaemonAuth::Cookie {
            path: "/home/m/.litecoin/.cookie".into()
        }
    );
    assert_eq!(c.stratum.listen.to_string(), "0.0.0.0:9327");
    assert_eq!(c.api.to_string(), "127.0.0.1:9329");
    assert_eq!(c.p2p.listen, "/ip4/0.0.0.0/tcp/9328");
    assert!(c.p2p.bootstrap.is_empty());
    assert!(!c.p2p.limit_loopback);
    assert_eq!(c.stratum.min_difficulty, 0.001);
    assert_eq!(c.stratum.vardiff_target_secs, 5);
    assert_eq!(c.stratum.max_connections, 10_000);
    assert_eq!(c.log.level, LogLevel::Info);
    assert_eq!(c.config_file, None);
}

#[test]
fn defaults_follow_coin_and_network() {
    let c = ok(None, "", "coin = 'bitcoin'\nnetwork = 'testnet'");
    assert_eq!(c.data_dir, Path::new("/home/m/.otedama/bitcoin-testnet"));
    assert_eq!(c.daemon.urls[0].to_string(), "http://127.0.0.1:18332");
    assert_eq!(
        c.daemon.auth,
        DaemonAuth::Cookie {
            path: "/home/m/.bitcoin/testnet3/.cookie".into()
        }
    );
    assert_eq!(c.stratum.listen.to_string(), "0.0.0.0:19347");
    assert_eq!(c.api.to_string(), "127.0.0.1:19349");
    assert_eq!(c.p2p.listen, "/ip4/0.0.0.0/tcp/19348");
}

#[test]
fn coin_from_one_layer_and_network_from_another_combine() {
    let c = ok(Some("network = 'signet'"), "coin = 'bitcoin'", "");
    assert_eq!((c.coin, c.network), (Coin::Bitcoin, Network::Signet));
}

#[test]
fn lists_are_taken_whole_from_one_layer() {
    let c = ok(
        Some("daemon_url = ['http://a:1', 'http://b:2']\nbootstrap = ['/ip4/1.1.1.1/tcp/1']"),
        "daemon_url = ['http://c:3']",
        "",
    );
    assert_eq!(c.daemon.urls.len(), 1);
    assert_eq!(c.daemon.urls[0].host, "c");
    assert_eq!(c.p2p.bootstrap, ["/ip4/1.1.1.1/tcp/1"]);
}

#[test]
fn loopback_limits_are_off_unless_a_layer_turns_them_on() {
    let c = ok(Some("p2p_limit_loopback = true"), "", "");
    assert!(c.p2p.limit_loopback);
    let c = ok(
        Some("p2p_limit_loopback = true"),
        "p2p_limit_loopback = false",
        "",
    );
    assert!(!c.p2p.limit_loopback);
}

#[test]
fn an_empty_bootstrap_list_overrides_a_lower_one() {
    let c = ok(
        Some("bootstrap = ['/ip4/1.1.1.1/tcp/1']"),
        "bootstrap = []",
        "",
    );
    assert!(c.p2p.bootstrap.is_empty());
}

#[test]
fn user_and_password_may_come_from_different_layers() {
    let c = ok(Some("daemon_user = 'u'"), "daemon_password = 'secret'", "");
    let DaemonAuth::UserPassword { user, password } = c.daemon.auth else {
        panic!("expected user and password");
    };
    assert_eq!((user.as_str(), password.expose()), ("u", "secret"));
}

#[test]
fn paths_in_the_file_are_relative_to_it_and_tilde_is_home() {
    let c = ok(
        Some("data_dir = 'state'\ndaemon_cookie = 'ltc/.cookie'"),
        "",
        "",
    );
    assert_eq!(c.data_dir, Path::new("/etc/otedama/state"));
    assert_eq!(
        c.daemon.auth,
        DaemonAuth::Cookie {
            path: "/etc/otedama/ltc/.cookie".into()
        }
    );
    let c = ok(Some("data_dir = '~/pool'"), "", "");
    assert_eq!(c.data_dir, Path::new("/home/m/pool"));
    let c = ok(None, "", "data_dir = 'rel'");
    assert_eq!(
        c.data_dir,
        Path::new("rel"),
        "flags stay relative to the cwd"
    );
    assert_eq!(c.config_file, None);
    let c = ok(Some(""), "", "");
    assert_eq!(c.config_file, Some(PathBuf::from(FILE)));
}

#[test]
fn port_zero_is_allowed_and_never_clashes() {
    let c = ok(
        None,
        "",
        "api = '127.0.0.1:0'\nstratum.listen = '127.0.0.1:0'",
    );
    assert_eq!(c.api.port(), 0);
}

#[test]
fn error_unsupported_network_names_its_source() {
    assert_eq!(
        err(None, "network = 'signet'", ""),
        "OTEDAMA_NETWORK: litecoin has no signet network (it has: mainnet, testnet, regtest)"
    );
}

#[test]
fn error_unknown_coin_and_network_names() {
    let e = err(Some("coin = 'dogecoin'"), "", "");
    assert!(
        e.starts_with(&format!("`coin` in {FILE}: invalid value `dogecoin`")),
        "{e}"
    );
    let e = err(None, "network = 'testnet3'", "");
    assert!(
        e.starts_with("OTEDAMA_NETWORK: invalid value `testnet3`"),
        "{e}"
    );
}

#[test]
fn error_bad_socket_address() {
    let e = err(None, "", "stratum.listen = 'localhost:3333'");
    assert_eq!(
        e,
        "--stratum: invalid value `localhost:3333`: expected IP:PORT, such as 0.0.0.0:9327 or \
         [::]:9327 (not a host name)"
    );
    let e = err(Some("api = '127.0.0.1:99999'"), "", "");
    assert!(
        e.starts_with(&format!("`api` in {FILE}: invalid value")),
        "{e}"
    );
}

#[test]
fn error_bad_daemon_url() {
    let e = err(
        None,
        "",
        "daemon_url = ['http://127.0.0.1:9332', 'tcp://x:1']",
    );
    assert_eq!(
        e,
        "--daemon-url: invalid value `tcp://x:1`: scheme `tcp` is not http or https; expected \
         http://HOST:PORT or https://HOST:PORT"
    );
    let e = err(Some("daemon_url = []"), "", "");
    assert!(e.ends_with("at least one URL is needed"), "{e}");
    let e = err(None, "daemon_url = ['http://a:1', 'http://a:1/']", "");
    assert!(e.ends_with("listed twice"), "{e}");
}

#[test]
fn zmq_endpoints_are_optional_and_taken_whole_from_the_highest_layer() {
    assert!(ok(None, "", "").daemon.zmq.is_empty());
    let c = ok(
        Some("daemon_zmq = ['tcp://10.0.0.2:28332', 'tcp://10.0.0.3:28332']"),
        "daemon_zmq = 'tcp://127.0.0.1:28332'",
        "",
    );
    let [zmq] = c.daemon.zmq.as_slice() else {
        panic!(
            "one endpoint, not joined with the file's: {:?}",
            c.daemon.zmq
        );
    };
    assert_eq!((zmq.host.as_str(), zmq.port), ("127.0.0.1", 28332));
    assert_eq!(zmq.address(), "127.0.0.1:28332");
    // An empty list in a higher layer turns ZMQ off.
    let c = ok(
        Some("daemon_zmq = ['tcp://10.0.0.2:28332']"),
        "",
        "daemon_zmq = []",
    );
    assert!(c.daemon.zmq.is_empty());
}

#[test]
fn zmq_endpoints_from_an_array_keep_their_order() {
    let c = ok(
        Some("daemon_zmq = ['tcp://10.0.0.2:28332', 'tcp://[::1]:28333']"),
        "",
        "",
    );
    let shown: Vec<String> = c.daemon.zmq.iter().map(|z| z.to_string()).collect();
    assert_eq!(shown, ["tcp://10.0.0.2:28332", "tcp://[::1]:28333"]);
    let addresses: Vec<String> = c.daemon.zmq.iter().map(ZmqEndpoint::address).collect();
    assert_eq!(addresses, ["10.0.0.2:28332", "[::1]:28333"]);
}

#[test]
fn zmq_endpoints_from_a_comma_separated_variable_and_a_repeated_flag() {
    let env = crate::EnvLayer::parse([("OTEDAMA_DAEMON_ZMQ", "tcp://a:1, tcp://b:2")])
        .expect("a valid variable");
    let mut l = layers(None, "", "");
    l.env = env.options;
    let c = resolve(&l).expect("valid configuration");
    let shown: Vec<String> = c.daemon.zmq.iter().map(|z| z.to_string()).collect();
    assert_eq!(shown, ["tcp://a:1", "tcp://b:2"]);

    let flags = crate::NodeArgs {
        daemon_zmq: vec!["tcp://c:3".into(), "tcp://d:4".into()],
        ..crate::NodeArgs::default()
    };
    l.cli = flags.to_raw();
    let c = resolve(&l).expect("valid configuration");
    let shown: Vec<String> = c.daemon.zmq.iter().map(|z| z.to_string()).collect();
    assert_eq!(shown, ["tcp://c:3", "tcp://d:4"], "the flags win, whole");
}

#[test]
fn a_zmq_endpoint_as_a_plain_string_still_works() {
    let c = ok(Some("daemon_zmq = 'tcp://10.0.0.2:28332'"), "", "");
    let shown: Vec<String> = c.daemon.zmq.iter().map(|z| z.to_string()).collect();
    assert_eq!(shown, ["tcp://10.0.0.2:28332"]);
}

#[test]
fn error_a_zmq_endpoint_listed_twice() {
    let e = err(
        Some("daemon_zmq = ['tcp://a:1', 'tcp://b:2', 'TCP://a:1']"),
        "",
        "",
    );
    assert_eq!(
        e,
        format!(
            "`daemon_zmq` in {FILE}: invalid value `TCP://a:1`: tcp://a:1 is listed twice; give \
             each publisher once"
        )
    );
    let e = err(None, "", "daemon_zmq = ['tcp://[::1]:5', 'tcp://[::1]:5']");
    assert!(
        e.starts_with("--daemon-zmq: invalid value `tcp://[::1]:5`"),
        "{e}"
    );
    ok(None, "", "daemon_zmq = ['tcp://a:1', 'tcp://a:2']");
}

#[test]
fn error_bad_zmq_endpoint_names_the_layer() {
    let e = err(Some("daemon_zmq = 'tcp://*:28332'"), "", "");
    assert_eq!(
        e,
        format!(
            "`daemon_zmq` in {FILE}: invalid value `tcp://*:28332`: `*` is not a host name; \
             expected tcp://HOST:PORT, such as tcp://127.0.0.1:28332"
        )
    );
    let e = err(None, "", "daemon_zmq = 'http://127.0.0.1:28332'");
    assert!(e.starts_with("--daemon-zmq: invalid value"), "{e}");
    assert!(e.contains("scheme `http` is not tcp"), "{e}");
    // The bad one of several is named; an empty item (`a,,b` in the environment) too.
    let e = err(None, "daemon_zmq = ['tcp://a:1', 'tcp://a']", "");
    assert!(
        e.starts_with("OTEDAMA_DAEMON_ZMQ: invalid value `tcp://a`: no port"),
        "{e}"
    );
    let e = err(None, "daemon_zmq = ['tcp://a:1', '']", "");
    assert!(
        e.starts_with("OTEDAMA_DAEMON_ZMQ: invalid value ``: no scheme"),
        "{e}"
    );
}

#[test]
fn error_password_and_cookie() {
    let e = err(
        Some("daemon_cookie = '/c'"),
        "daemon_user = 'u'\ndaemon_password = 'p'",
        "",
    );
    assert_eq!(
        e,
        format!(
            "both a daemon password (OTEDAMA_DAEMON_PASSWORD) and a daemon cookie \
             (`daemon_cookie` in {FILE}) are set: give either --daemon-user with \
             --daemon-password, or --daemon-cookie"
        )
    );
}

#[test]
fn error_half_of_the_credentials() {
    assert_eq!(
        err(None, "", "daemon_user = 'u'"),
        "--daemon-user is set but --daemon-password is not: the daemon needs both user and \
         password"
    );
    assert_eq!(
        err(None, "daemon_password = 'p'", ""),
        "OTEDAMA_DAEMON_PASSWORD is set but --daemon-user is not: the daemon needs both user \
         and password"
    );
    let e = err(None, "", "daemon_user = ''\ndaemon_password = 'p'");
    assert_eq!(e, "--daemon-user: invalid value ``: must not be empty");
}

#[test]
fn error_no_home_for_defaults() {
    let mut l = layers(None, "", "");
    l.home = None;
    let e = resolve(&l).expect_err("no home").to_string();
    assert_eq!(
        e,
        "HOME is not set, so there is no default data directory: set --data-dir"
    );
    l.cli = toml("data_dir = '/d'");
    let e = resolve(&l).expect_err("no home").to_string();
    assert_eq!(
        e,
        "HOME is not set, so there is no default daemon cookie file: set --daemon-cookie"
    );
    l.cli = toml("data_dir = '/d'\ndaemon_cookie = '/c'");
    resolve(&l).expect("nothing needs HOME now");
    l.cli = toml("data_dir = '~/d'");
    let e = resolve(&l).expect_err("no home").to_string();
    assert_eq!(
        e,
        "--data-dir: invalid value `~/d`: `~` needs HOME, which is not set"
    );
}

#[test]
fn error_empty_path() {
    let e = err(Some("data_dir = ''"), "", "");
    assert_eq!(
        e,
        format!("`data_dir` in {FILE}: invalid value ``: must not be empty")
    );
}

#[test]
fn error_stratum_and_api_on_one_address() {
    let e = err(None, "api = '127.0.0.1:9327'", "");
    assert_eq!(
        e,
        "the default stratum.listen and OTEDAMA_API both listen on 127.0.0.1:9327: give them \
         different ports"
    );
    ok(
        None,
        "api = '127.0.0.1:9327'\nstratum.listen = '127.0.0.2:9327'",
        "",
    );
}

#[test]
fn error_numbers_out_of_range() {
    let e = err(None, "", "stratum.min_difficulty = 0");
    assert_eq!(
        e,
        "--stratum-min-difficulty: invalid value `0`: must be a positive number"
    );
    let e = err(Some("stratum.min_difficulty = nan"), "", "");
    assert!(e.ends_with("must be a positive number"), "{e}");
    let e = err(None, "stratum.vardiff_target_secs = 0", "");
    assert_eq!(
        e,
        "OTEDAMA_STRATUM_VARDIFF_TARGET_SECS: invalid value `0`: must be 1 to 3600 seconds"
    );
    let e = err(None, "", "stratum.max_connections = 0");
    assert_eq!(
        e,
        "--stratum-max-connections: invalid value `0`: must be at least 1"
    );
}

#[test]
fn error_bad_multiaddr() {
    for bad in [
        "ip4/0.0.0.0/tcp/1",
        "/ip4",
        "/ip4//tcp/1",
        "/ip4/0.0.0.0/tcp/1 ",
    ] {
        let e = err(None, "", &format!("p2p = '{bad}'"));
        assert!(e.starts_with("--p2p: invalid value"), "{e}");
        assert!(e.ends_with("expected a multiaddress such as /ip4/0.0.0.0/tcp/9328"));
    }
    let e = err(
        Some("bootstrap = ['/ip4/1.1.1.1/tcp/1', 'peer.example:9328']"),
        "",
        "",
    );
    assert!(e.contains("invalid value `peer.example:9328`"), "{e}");
}

#[test]
fn error_bad_log_level() {
    let e = err(Some("log.level = 'loud'"), "", "");
    assert_eq!(
        e,
        format!(
            "`log.level` in {FILE}: invalid value `loud`: expected one of: error, warn, info, \
             debug, trace"
        )
    );
}
