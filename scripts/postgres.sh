#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests on 127.0.0.1, with a
# temporary data directory, and stops it.
#
#   eval "$(scripts/postgres.sh start)"   # sets OTLPGO_PG_DSN and OTLPGO_PG_DIR
#   scripts/postgres.sh stop "$OTLPGO_PG_DIR"
#
# It uses the server binaries of Debian's postgresql package, installing
# it with apt-get when they are missing and this runs as root (as in CI).
# initdb refuses root, so as root the server runs as the postgres user.
# max_prepared_transactions is raised for the twopc tests.
set -euo pipefail

bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [[ -x "$d/pg_ctl" ]]; then
			echo "$d"
			return
		fi
	done
	return 1
}

as_server() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "${1:-}" in
start)
	if ! bin="$(bindir)"; then
		if [[ $(id -u) -ne 0 ]]; then
			echo "postgres.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
			exit 1
		fi
		echo "postgres.sh: installing Debian's postgresql" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
		bin="$(bindir)"
	fi
	dir="$(mktemp -d /tmp/otlpgo-pg.XXXXXX)"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$dir"
	fi
	port=55432
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	as_server "$bin/initdb" -D "$dir/data" --auth=trust --username=otlpgo --encoding=UTF8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
		"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_prepared_transactions=256 -c max_connections=200" \
		start >/dev/null || {
		cat "$dir/server.log" >&2
		exit 1
	}
	echo "export OTLPGO_PG_DSN='postgres://otlpgo@127.0.0.1:$port/postgres?sslmode=disable'"
	echo "export OTLPGO_PG_DIR='$dir'"
	;;
stop)
	dir="${2:?usage: postgres.sh stop DIR}"
	bin="$(bindir)"
	as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: postgres.sh start | stop DIR" >&2
	exit 2
	;;
esac
