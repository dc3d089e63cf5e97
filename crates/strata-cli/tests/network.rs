//! Networking end to end, as root with real namespaces, veths, iptables rules and
//! aardvark-dns (through netavark): the default bridge, user networks with names, published
//! ports reached from the host, the gateway reached from a container, restart policies, and
//! everything gone again afterwards.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::Strata;

/// A store with the busybox fixture as `bb`, or None (and a note) without netavark.
fn bridge_store() -> Option<Strata> {
    if bridge_missing() {
        return None;
    }
    let strata = Strata::new();
    strata.import_busybox("bb");
    Some(strata)
}

/// Bridge networking needs netavark; without it these tests say so and pass nothing off.
fn bridge_missing() -> bool {
    let found = ["/usr/lib/podman/netavark", "/usr/libexec/podman/netavark"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    if !found {
        eprintln!("skipping: netavark is not installed (scripts/install-deps.sh installs it)");
    }
    !found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// GETs `/` from 127.0.0.1:port, retrying while the server in the container starts.
fn http_get(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        });
        match attempt {
            Ok(body) if body.contains("200 OK") => return body,
            _ if Instant::now() > deadline => panic!("no answer on port {port}: {attempt:?}"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A detached busybox httpd serving `text` on port 80 of the container.
fn web_server(strata: &Strata, extra: &[&str], text: &str) -> String {
    let script =
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["bb", "sh", "-c", &script]);
    strata.ok(&args).trim().to_string()
}

/// Nothing of the container is left in the kernel or in /run: namespace, rules, addresses.
fn assert_no_leaks(id: &str) {
    assert!(
        !std::path::Path::new("/run/strata/netns").join(id).exists(),
        "netns of {id} left behind"
    );
    let rules = std::process::Command::new("iptables-save")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(!rules.contains(id), "iptables rules of {id} left behind");
    for entry in std::fs::read_dir("/run/strata/networks")
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert!(
            !text.contains(id),
            "address of {id} still allocated in {:?}",
            entry.path()
        );
    }
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let net = strata
        .ok(&["network", "create", "appnet"])
        .trim()
        .to_string();
    assert_eq!(net.len(), 64);
    let web = web_server(
        &strata,
        &[
            "--name",
            "web",
            "--network",
            "appnet",
            "--network-alias",
            "www",
        ],
        "hello-by-name",
    );
    let out = strata.ok(&[
        "run", "--rm", "--network", "appnet", "bb", "sh", "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/ && break; sleep 0.2; done; wget -qO- http://www/; ping -c1 -W2 web >/dev/null && echo ping-ok",
    ]);
    assert_eq!(out, "hello-by-name\nhello-by-name\nping-ok\n");
    // Inspect shows the address on the network and the network lists the container.
    let ip = strata.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.appnet.IPAddress}}",
        "web",
    ]);
    let listed = strata.ok(&["network", "inspect", "-f", "{{json .Containers}}", "appnet"]);
    assert!(
        listed.contains(&web) && listed.contains(&format!("{}/16", ip.trim())),
        "{listed}"
    );
    let err = strata.fails(&["network", "rm", "appnet"]);
    assert!(err.contains("has active endpoints"), "{err}");
    strata.ok(&["rm", "-f", "web"]);
    assert_no_leaks(&web);
    assert_eq!(strata.ok(&["network", "rm", "appnet"]), "appnet\n");
    // The bridge (kept up between containers) and its keeper link go with the network.
    for link in [format!("br-{}", &net[..12]), format!("sk{}", &net[..12])] {
        assert!(
            !std::path::Path::new("/sys/class/net").join(&link).exists(),
            "{link} left"
        );
    }
    let err = strata.fails(&["network", "inspect", "appnet"]);
    assert!(err.contains("network appnet not found"), "{err}");
}

#[test]
fn published_ports_answer_on_the_host_loopback() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let port = free_port();
    let spec = format!("{port}:80");
    let id = web_server(&strata, &["--name", "pub", "-p", &spec], "published");
    assert!(http_get(port).contains("published"));
    assert_eq!(
        strata.ok(&["port", "pub"]),
        format!("80/tcp -> 0.0.0.0:{port}\n")
    );
    assert_eq!(
        strata.ok(&["port", "pub", "80"]),
        format!("0.0.0.0:{port}\n")
    );
    let err = strata.fails(&["port", "pub", "81"]);
    assert!(
        err.contains("No public port '81/tcp' published for pub"),
        "{err}"
    );
    let ps = strata.ok(&["ps", "--format", "{{.Ports}}"]);
    assert_eq!(ps, format!("0.0.0.0:{port}->80/tcp\n"));
    // The same host port again: Docker's error, and the second container is left created.
    let err = strata.fails(&[
        "run", "-d", "--name", "clash", "-p", &spec, "bb", "sleep", "5",
    ]);
    assert!(
        err.contains(&format!(
            "Bind for 0.0.0.0:{port} failed: port is already allocated"
        )),
        "{err}"
    );
    let state = strata.ok(&["inspect", "-f", "{{.State.Status}}", "clash"]);
    assert_eq!(state, "created\n");
    // A random host port for -p 80, and -P for the exposed ports.
    let random = web_server(
        &strata,
        &["-p", "127.0.0.1::80", "--expose", "81"],
        "random",
    );
    let mapped = strata.ok(&["port", &random, "80/tcp"]);
    let host_port: u16 = mapped
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(mapped.starts_with("127.0.0.1:"), "{mapped}");
    assert!(http_get(host_port).contains("random"));
    let all = strata.ok(&[
        "run",
        "-d",
        "-P",
        "--expose",
        "7000-7001",
        "bb",
        "sleep",
        "30",
    ]);
    let listed = strata.ok(&["port", all.trim()]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    for id in [id.as_str(), random.as_str(), all.trim()] {
        strata.ok(&["rm", "-f", id]);
        assert_no_leaks(id);
    }
    // Released: the port can be taken again.
    TcpListener::bind(("0.0.0.0", port)).expect("port free after rm");
}

#[test]
fn a_port_held_by_another_program_is_refused_and_nothing_is_left() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let holder = TcpListener::bind("0.0.0.0:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let spec = format!("{port}:80");
    let out = strata.run(&["run", "--name", "busy", "-p", &spec, "bb", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "listen tcp4 0.0.0.0:{port}: bind: address already in use"
        )),
        "{err}"
    );
    let id = strata.ok(&["inspect", "-f", "{{.Id}}", "busy"]);
    assert_no_leaks(id.trim());
    for (args, message) in [
        (vec!["-p", "abc:80"], "invalid hostPort: abc"),
        (vec!["-p", "80:80/xyz"], "invalid proto: xyz"),
        (
            vec!["--ip", "172.30.0.9"],
            "user specified IP address is supported on user defined networks only",
        ),
        (vec!["--network", "nope"], "network nope not found"),
        (
            vec!["--restart", "always", "--rm"],
            "Conflicting options: --restart and --rm",
        ),
        (
            vec!["--restart", "sometimes"],
            "invalid restart policy format",
        ),
    ] {
        let mut full = vec!["run"];
        full.extend(args);
        full.extend(["bb", "true"]);
        let err = strata.fails(&full);
        assert!(err.contains(message), "{full:?}: {err}");
    }
    strata.ok(&["network", "create", "--subnet", "10.201.0.0/24", "small"]);
    let err = strata.fails(&[
        "run",
        "--network",
        "small",
        "--ip",
        "10.202.0.5",
        "bb",
        "true",
    ]);
    assert!(
        err.contains("It does not belong to any of this network's subnets"),
        "{err}"
    );
    let err = strata.fails(&["network", "create", "small"]);
    assert!(
        err.contains("network with name small already exists"),
        "{err}"
    );
    let err = strata.fails(&[
        "network",
        "create",
        "--subnet",
        "10.201.0.128/25",
        "overlap",
    ]);
    assert!(
        err.contains("Pool overlaps with other one on this address space"),
        "{err}"
    );
    let err = strata.fails(&["network", "rm", "bridge"]);
    assert!(
        err.contains("bridge is a pre-defined network and cannot be removed"),
        "{err}"
    );
    // A static address on a user network is the one the container gets.
    let out = strata.ok(&[
        "run",
        "--rm",
        "--network",
        "small",
        "--ip",
        "10.201.0.77",
        "bb",
        "sh",
        "-c",
        "ip -4 addr show eth0",
    ]);
    assert!(out.contains("inet 10.201.0.77/24"), "{out}");
    strata.ok(&["network", "rm", "small"]);
}

#[test]
fn a_container_reaches_a_server_on_the_host_at_the_gateway() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let server = TcpListener::bind("0.0.0.0:0").expect("bind");
    let port = server.local_addr().expect("addr").port();
    let serve = std::thread::spawn(move || {
        if let Ok((mut conn, _)) = server.accept() {
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nfrom-host");
        }
    });
    let gateway = strata.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
        "bridge",
    ]);
    let url = format!("http://host.docker.internal:{port}/");
    let out = strata.ok(&[
        "run",
        "--rm",
        "--add-host",
        "host.docker.internal:host-gateway",
        "bb",
        "sh",
        "-c",
        &format!("grep host.docker.internal /etc/hosts; wget -qO- {url}"),
    ]);
    assert_eq!(
        out,
        format!("{}\thost.docker.internal\nfrom-host", gateway.trim())
    );
    serve.join().expect("server thread");
}

#[test]
fn concurrent_runs_get_distinct_addresses_and_leave_nothing() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let outputs: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    strata.ok(&[
                        "run",
                        "-d",
                        "bb",
                        "sh",
                        "-c",
                        "ip -4 addr show eth0 | grep inet; sleep 30",
                    ])
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let ids: Vec<String> = outputs.iter().map(|o| o.trim().to_string()).collect();
    let mut addresses: Vec<String> = ids
        .iter()
        .map(|id| {
            strata
                .ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", id])
                .trim()
                .to_string()
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 6, "{addresses:?}");
    assert!(
        addresses.iter().all(|a| a.starts_with("172.30.")),
        "{addresses:?}"
    );
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    strata.ok(&args);
    for id in &ids {
        assert_no_leaks(id);
    }
    // Create/remove cycles leave nothing either (bench/network-cycles.sh runs 1,000).
    for _ in 0..10 {
        let id = strata.ok(&["run", "-d", "bb", "true"]).trim().to_string();
        strata.ok(&["wait", &id]);
        strata.ok(&["rm", &id]);
        assert_no_leaks(&id);
    }
}

#[test]
fn network_modes_none_host_and_container() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let none = strata.ok(&["run", "--rm", "--network", "none", "bb", "ip", "-o", "link"]);
    assert_eq!(none.lines().count(), 1, "only lo: {none}");
    assert!(none.contains("lo") && none.contains("UP"), "{none}");
    // Host networking sees the host's interfaces, e.g. the one with the default route
    // (comparing whole lists would race with the veths other tests make meanwhile).
    let route = std::fs::read_to_string("/proc/net/route").expect("routes");
    let uplink = route
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some("00000000"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("lo")
        .to_string();
    let host = strata.ok(&["run", "--rm", "--network", "host", "bb", "ip", "-o", "link"]);
    assert!(host.contains(&format!(": {uplink}")), "{uplink} in {host}");
    let box_id = strata.ok(&["run", "-d", "--name", "box", "bb", "sleep", "30"]);
    let theirs = strata.ok(&["exec", "box", "ip", "-4", "-o", "addr", "show", "eth0"]);
    let ours = strata.ok(&[
        "run",
        "--rm",
        "--network",
        "container:box",
        "bb",
        "ip",
        "-4",
        "-o",
        "addr",
        "show",
        "eth0",
    ]);
    assert_eq!(ours, theirs);
    let inspect = strata.ok(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", "box"]);
    assert_eq!(inspect, "bridge\n");
    strata.ok(&["rm", "-f", box_id.trim()]);
    assert_no_leaks(box_id.trim());
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let Some(strata) = bridge_store() else {
        return;
    };
    strata.ok(&["network", "create", "--subnet", "10.203.0.0/24", "extra"]);
    let id = strata
        .ok(&["run", "-d", "--name", "multi", "bb", "sleep", "30"])
        .trim()
        .to_string();
    strata.ok(&[
        "network",
        "connect",
        "--ip",
        "10.203.0.50",
        "extra",
        "multi",
    ]);
    let addrs = strata.ok(&["exec", "multi", "ip", "-4", "-o", "addr"]);
    assert!(
        addrs.contains("eth1") && addrs.contains("10.203.0.50/24"),
        "{addrs}"
    );
    let err = strata.fails(&["network", "connect", "extra", "multi"]);
    assert!(err.contains("already exists in network extra"), "{err}");
    let networks = strata.ok(&["ps", "--format", "{{.Networks}}"]);
    assert_eq!(networks, "bridge,extra\n");
    strata.ok(&["network", "disconnect", "extra", "multi"]);
    let addrs = strata.ok(&["exec", "multi", "ip", "-4", "-o", "addr"]);
    assert!(!addrs.contains("10.203.0.50"), "{addrs}");
    let err = strata.fails(&["network", "disconnect", "extra", "multi"]);
    assert!(err.contains("is not connected to network extra"), "{err}");
    assert_eq!(strata.ok(&["network", "rm", "extra"]), "extra\n");
    strata.ok(&["rm", "-f", &id]);
    assert_no_leaks(&id);
}

#[test]
fn restart_policies_are_carried_out_by_the_monitor_and_at_boot() {
    let strata = Strata::new();
    strata.import_busybox("bb");
    let flaky = strata.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--restart",
        "on-failure:2",
        "bb",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    let flaky = flaky.trim();
    assert_eq!(strata.ok(&["wait", flaky]), "3\n");
    let summary = strata.ok(&[
        "inspect",
        "-f",
        "{{.RestartCount}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}}",
        flaky,
    ]);
    assert_eq!(summary, "2 exited on-failure\n");
    assert_eq!(strata.ok(&["logs", flaky]), "run\nrun\nrun\n");
    // A stopped `always` container stays stopped, until the host boots again.
    let always = strata.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--restart",
        "always",
        "bb",
        "sleep",
        "30",
    ]);
    let always = always.trim();
    let unless = strata.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--restart",
        "unless-stopped",
        "bb",
        "sleep",
        "30",
    ]);
    let unless = unless.trim();
    strata.ok(&["stop", "-t", "0", always, unless]);
    std::thread::sleep(Duration::from_millis(300));
    for id in [always, unless] {
        assert_eq!(
            strata.ok(&["inspect", "-f", "{{.State.Status}}", id]),
            "exited\n"
        );
    }
    let started = strata.ok(&["system", "boot"]);
    let name = strata.ok(&["inspect", "-f", "{{.Name}}", always]);
    assert_eq!(
        started,
        format!("{}\n", name.trim().trim_start_matches('/'))
    );
    assert_eq!(
        strata.ok(&["inspect", "-f", "{{.State.Status}}", always]),
        "running\n"
    );
    assert_eq!(
        strata.ok(&["inspect", "-f", "{{.State.Status}}", unless]),
        "exited\n"
    );
    strata.ok(&["rm", "-f", always, unless, flaky]);
}

#[test]
fn build_runs_on_the_bridge_unless_told_otherwise() {
    let Some(strata) = bridge_store() else {
        return;
    };
    let ctx = tempfile::tempdir().expect("context");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bb\nRUN ip -4 -o addr show eth0 | grep -q 'inet 172.30.' && echo on-bridge\n",
    )
    .expect("dockerfile");
    let out = strata.ok(&[
        "build",
        "--no-cache",
        "-t",
        "b1",
        ctx.path().to_str().expect("utf8"),
    ]);
    assert!(out.contains("on-bridge"), "{out}");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bb\nRUN test \"$(ip -o link | wc -l)\" = 1 && echo only-lo\n",
    )
    .expect("dockerfile");
    let out = strata.ok(&[
        "build",
        "--no-cache",
        "--network",
        "none",
        "-t",
        "b2",
        ctx.path().to_str().expect("utf8"),
    ]);
    assert!(out.contains("only-lo"), "{out}");
}

#[test]
fn network_inspect_and_ls_have_dockers_shape() {
    if !common::docker_available() {
        eprintln!("skipping: no docker daemon answers");
        return;
    }
    let strata = Strata::new();
    let name = common::unique("oraclenet");
    let args = [
        "network",
        "create",
        "--subnet",
        "10.204.0.0/24",
        "--label",
        "team=a",
        name.as_str(),
    ];
    common::docker(&args);
    strata.ok(&args);
    let theirs: serde_json::Value =
        serde_json::from_str(&common::docker(&["network", "inspect", &name])).expect("docker json");
    common::docker(&["network", "rm", &name]);
    let ours: serde_json::Value =
        serde_json::from_str(&strata.ok(&["network", "inspect", &name])).expect("strata json");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v[0].as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(&ours), keys(&theirs));
    for field in [
        "Scope",
        "Driver",
        "EnableIPv6",
        "IPAM",
        "Internal",
        "Attachable",
        "Labels",
        "Options",
        "Containers",
    ] {
        assert_eq!(ours[0][field], theirs[0][field], "{field}");
    }
    strata.ok(&["network", "rm", &name]);
    let header = strata.ok(&["network", "ls"]);
    let words: Vec<&str> = header
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(words, ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]);
    let names = strata.ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}}",
        "--filter",
        "type=builtin",
    ]);
    assert_eq!(names, "bridge bridge\nhost host\nnone null\n");
}
