# Drover: build, test, run, clean.
# Needs only the .NET SDK, gcc and make. Everything goes to ./out (programs) and ./var (the local fleet).

DOTNET        ?= dotnet
CONFIGURATION ?= Release
OUT           := $(CURDIR)/out
RESULTS       := $(OUT)/test-results
AGENTS        ?= 3
CLUSTERS      ?= 1
GPUS          ?= 2
HA            ?= 1
DEB_COMPRESSION ?= xz
# $(call given,VAR,DEFAULT): VAR when set on the command line or in the environment, else DEFAULT.
given = $(if $(filter command line environment,$(origin $(1))),$($(1)),$(2))

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: test-ha all build native restore test test-tools aot package run bench bench-fleet clean

all: build

restore:
	$(DOTNET) restore Agent.sln

# The stand-in NVML and CUDA driver, the CUDA launch probe, and the sample CUDA workload (a sample function).
native:
	$(MAKE) -s -C native/fake-nvml OUT=$(OUT)/native
	$(MAKE) -s -C native/fake-cuda OUT=$(OUT)/native
	$(MAKE) -s -C native/cuda-probe OUT=$(OUT)/native
	$(MAKE) -s -C native/cuda-workload OUT=$(OUT)/samples/cuda-workload

# The programs land in ./out/<name>/ with a link ./out/<program> to each.
build: native restore
	$(DOTNET) build Agent.sln -c $(CONFIGURATION) --no-restore -nologo -clp:NoSummary
	$(DOTNET) publish aggregator/Drover.Aggregator -c $(CONFIGURATION) --no-restore --no-build -o $(OUT)/aggregator -nologo
	$(DOTNET) publish agent/Drover.Agent -c $(CONFIGURATION) --no-restore --no-build -o $(OUT)/agent -nologo
	$(DOTNET) publish agent/samples/counter -c $(CONFIGURATION) --no-restore --no-build -o $(OUT)/samples/counter -nologo
	$(DOTNET) publish aggregator/Drover.Cli -c $(CONFIGURATION) --no-restore --no-build -o $(OUT)/cli -nologo
	ln -sfn aggregator/drover-aggregator $(OUT)/drover-aggregator
	ln -sfn agent/drover-agent $(OUT)/drover-agent
	ln -sfn cli/droverctl $(OUT)/droverctl
	@echo "Built: $(OUT)/drover-aggregator $(OUT)/drover-agent $(OUT)/droverctl $(OUT)/native/libnvidia-ml.so.1 $(OUT)/native/libcuda.so.1 $(OUT)/native/libdrover-cuda-probe.so $(OUT)/samples/counter/counter $(OUT)/samples/cuda-workload/cuda-workload"

# What the tests need beyond the SDK, gcc and make, from Debian's packages, installed when missing where apt-get
# can (as root; the package lists are refreshed once when an install fails); else the test says what is missing:
# systemd-analyze (the unit files' test), deb-systemd-helper (the packages' maintainer scripts, run by the package
# test), haproxy (the balancer the coordination tests run;
# Debian puts it in /usr/sbin, which the tests also look in), prometheus (scrapes the aggregator in the metrics test),
# chromium (the dashboard's browser test drives it through Playwright, which downloads no browser of its own),
# PostgreSQL's server (the store's contract tests and the aggregator-on-PostgreSQL system test run initdb and postgres
# from /usr/lib/postgresql/<version>/bin, off PATH: the unquoted pattern is expanded before command -v looks).
test-tools:
	@for need in systemd-analyze:systemd deb-systemd-helper:init-system-helpers haproxy:haproxy prometheus:prometheus chromium:chromium /usr/lib/postgresql/*/bin/initdb:postgresql; do \
	    command -v $${need%%:*} > /dev/null 2>&1 \
	    || { [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1 \
	         && { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $${need##*:} > /dev/null 2>&1 \
	              || { apt-get update > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $${need##*:} > /dev/null 2>&1; }; }; } \
	    || echo "make: $${need%%:*} is missing and could not be installed (apt-get install $${need##*:}, as root)"; \
	done

# The system suites that run a second time against the NativeAOT agent (the packaged one).
AOT_SUITES := FullyQualifiedName~Drover.SystemTests.Heartbeats|FullyQualifiedName~Drover.SystemTests.Configuration|FullyQualifiedName~Drover.SystemTests.Telemetry|FullyQualifiedName~Drover.SystemTests.Instances

# The system tests of several aggregators on PostgreSQL (issue 21): a leader SIGKILLed under load, cut off from
# PostgreSQL, PostgreSQL restarted, a follower under systemd.
HA_SUITE := Suite=HighAvailability

# Runs every test project, then the foundation, telemetry and instance suites again with the NativeAOT
# agent, then the several-aggregator suite on its own, not beside the other suites' processes; the last line
# is this Makefile's own count over all of them.
# The tests' packages are gzip-compressed (seconds, where xz takes minutes on 2 cores); make package's are xz.
test: DEB_COMPRESSION = gzip
test: build test-tools package
	@rm -rf $(RESULTS)
	@status=0; \
	DROVER_OUT=$(OUT) $(DOTNET) test Agent.sln -c $(CONFIGURATION) --no-build --nologo --filter "Suite!=HighAvailability" \
	    --logger "trx" --logger "console;verbosity=minimal" --results-directory $(RESULTS) || status=$$?; \
	echo "The foundation, telemetry and instance suites against the NativeAOT agent:"; \
	DROVER_OUT=$(OUT) DROVER_AGENT=$(OUT)/agent-aot/drover-agent $(DOTNET) test tests/Drover.SystemTests -c $(CONFIGURATION) --no-build --nologo \
	    --filter "$(AOT_SUITES)" --logger "trx;LogFileName=aot-agent.trx" --logger "console;verbosity=minimal" \
	    --results-directory $(RESULTS) || status=$$?; \
	echo "The several-aggregator suite on PostgreSQL, alone (its leases are timed on a host's clock):"; \
	DROVER_OUT=$(OUT) $(DOTNET) test tests/Drover.SystemTests -c $(CONFIGURATION) --no-build --nologo \
	    --filter "$(HA_SUITE)" --logger "trx;LogFileName=high-availability.trx" --logger "console;verbosity=minimal" \
	    --results-directory $(RESULTS) || status=$$?; \
	passed=0; failed=0; skipped=0; \
	for trx in $(RESULTS)/*.trx; do \
	    [ -f "$$trx" ] || continue; \
	    counters=$$(grep -o '<Counters [^>]*' "$$trx"); \
	    p=$$(echo "$$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); \
	    f=$$(echo "$$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p'); \
	    t=$$(echo "$$counters" | sed -n 's/.* total="\([0-9]*\)".*/\1/p'); \
	    e=$$(echo "$$counters" | sed -n 's/.* executed="\([0-9]*\)".*/\1/p'); \
	    passed=$$((passed + $${p:-0})); failed=$$((failed + $${f:-0})); skipped=$$((skipped + $${t:-0} - $${e:-0})); \
	done; \
	if [ $$failed -gt 0 ]; then \
	    echo "Failed tests:"; \
	    for trx in $(RESULTS)/*.trx; do \
	        [ -f "$$trx" ] || continue; \
	        grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*' "$$trx" | sed -n 's/.* testName="\([^"]*\)".*/  \1/p'; \
	    done; \
	fi; \
	if [ $$status -ne 0 ] && [ $$failed -eq 0 ]; then failed=1; echo "dotnet test exited with $$status"; fi; \
	if [ $$skipped -gt 0 ]; then echo "$$passed passed, $$failed failed, $$skipped skipped"; else echo "$$passed passed, $$failed failed"; fi; \
	exit $$status

# The several-aggregator suite alone (make test runs it too), with each test's output.
test-ha: build test-tools
	DROVER_OUT=$(OUT) $(DOTNET) test tests/Drover.SystemTests -c $(CONFIGURATION) --no-build --nologo \
	    --filter "$(HA_SUITE)" --logger "console;verbosity=normal"

# The agent as one NativeAOT executable, out/agent-aot/drover-agent (issue 16's packaged agent). gcc links it.
aot: native restore
	$(DOTNET) publish agent/Drover.Agent -c $(CONFIGURATION) -r linux-x64 -p:PublishAot=true -o $(OUT)/agent-aot -nologo
	@echo "Built: $(OUT)/agent-aot/drover-agent ($$($(OUT)/agent-aot/drover-agent --version))"

# The Debian packages, out/packages/drover-{agent,aggregator}_<version>_amd64.deb: the NativeAOT agent and
# the self-contained aggregator, built with dpkg-deb (packaging/deb/build-deb.sh).
package: aot
	$(DOTNET) publish aggregator/Drover.Aggregator -c $(CONFIGURATION) -r linux-x64 --self-contained -o $(OUT)/aggregator-sc -nologo
	@rm -rf $(OUT)/packages
	DEB_COMPRESSION=$(DEB_COMPRESSION) packaging/deb/build-deb.sh $(OUT)/agent-aot/drover-agent $(OUT)/aggregator-sc $(OUT)/packages

# An aggregator and a small simulated fleet on this machine, on the stand-in NVML. HA=3: three aggregators on one
# PostgreSQL (installed by test-tools where missing), one elected leader.
run: build
	@if [ "$(HA)" != 1 ]; then $(MAKE) -s test-tools; fi
	AGENTS=$(AGENTS) CLUSTERS=$(CLUSTERS) GPUS=$(GPUS) HA=$(HA) OUT=$(OUT) VAR=$(CURDIR)/var packaging/dev/run-fleet.sh

# Speed and cost: the BenchmarkDotNet suite, then the real agent's CPU and memory over a minute, then the CUDA launch
# probe's added cost per launch (docs/BENCHMARKS.md).
bench: build
	$(DOTNET) run -c $(CONFIGURATION) --project tests/Drover.Benchmarks -- --filter '*'
	OUT=$(OUT) tests/Drover.Benchmarks/measure-agent.sh
	OUT=$(OUT) tests/Drover.Benchmarks/measure-probe.sh

# The fleet at scale (issue 17): simulated agents against a real aggregator; ends with one JSON line.
# make bench-fleet AGENTS=10000 GPUS=8 SECONDS=60 (defaults here: 1000 agents, 8 GPUs, 60 s; AGENTS and GPUS
# given for make run do not carry over unless named).
bench-fleet: build
	$(DOTNET) run -c $(CONFIGURATION) --no-build --project tests/Drover.FleetSim -- --out $(OUT) \
	    --agents $(call given,AGENTS,1000) --gpus $(call given,GPUS,8) --seconds $(call given,SECONDS,60)

clean:
	rm -rf $(OUT) var
	$(DOTNET) clean Agent.sln -nologo -v q
	find . -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
