# bench/lib.bash — helpers sourced by the benchmark scripts (not a benchmark itself; run.sh runs only *.sh).
# bench_cpu FILE CMD…: the best user+sys seconds of three runs of CMD reading FILE (the machine is shared).
bench_cpu() {
    local best="" f=$1 t
    shift
    t=$(mktemp)
    for _ in 1 2 3; do
        /usr/bin/time -f "%U %S" -o "$t" "$@" <"$f" >/dev/null 2>/dev/null
        best=$(awk -v b="$best" '{t = $1 + $2; if (b == "" || t < b) b = t; printf "%.3f", b}' "$t")
    done
    rm -f "$t"
    echo "$best"
}
# bench_rate N SECONDS: N per second, rounded.
bench_rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
