# tests/lib/web.sh — helpers for ntpmon-web's tests (source after pipeline.sh, call w_init after p_stack).
#   w_req METHOD PATH [curl args…]   one request; prints the status code; body in $W_BODY, headers in $W_HEADERS
#   w_body / w_json JQ-FILTER         the last body, raw or through jq
#   w_header NAME                     a header of the last response (case-insensitive; empty when absent)
#   w_metric NAME                     a value from ntpmon-web's /metrics
#   w_healthz                         the /healthz body
W_BODY=$H_TMP/w.body
W_HEADERS=$H_TMP/w.headers
w_init() { W_URL=http://127.0.0.1:$P_WEB_PORT; export W_URL; }
w_req() {
    local method=$1 path=$2; shift 2
    curl -g -s -o "$W_BODY" -D "$W_HEADERS" -w '%{http_code}' --max-time "${W_TIMEOUT:-20}" -X "$method" "$@" "$W_URL$path"
}
w_body() { cat "$W_BODY"; }
w_json() { jq -r "$1" <"$W_BODY" 2>/dev/null; }
w_header() { tr -d '\r' <"$W_HEADERS" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == n { print $2; exit }'; }
w_metric() { curl -s --max-time 5 "$W_URL/metrics" | awk -v m="$1" '$1 == m { print $2; exit }'; }
w_healthz() { curl -s --max-time 5 "$W_URL/healthz"; }
# w_is_code WANT METHOD PATH [curl args…]: true when the request answers WANT (for h_wait)
w_is_code() { local want=$1; shift; [ "$(w_req "$@")" = "$want" ]; }
