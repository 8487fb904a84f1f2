-- SPDX-License-Identifier: GPL-3.0-or-later
wrk.method = "POST"
wrk.body = '{"seats": 300}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
