# hub — see README.md
GO      ?= go
BIN     := bin/hub
N       ?= 10000
ADDR    ?= 127.0.0.1:8080

.PHONY: all build run test bench fuzz check golden clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hub

# Build the sample site in content/ and serve it on 127.0.0.1 (make run ADDR=127.0.0.1:9000).
run: build
	./$(BIN) serve -content content -out public -addr $(ADDR)

# The whole test suite (unit, golden, fuzz seeds, end-to-end with the real binary).
# Temporary files go to a tmpfs when there is one: the tests write and fsync
# thousands of files, which costs ten times more on a busy disk, and what
# they prove of durability comes from injected faults, not from the disk.
test:
	$(GO) vet ./...
	@d=$$(mktemp -d -p /dev/shm hub-test.XXXXXX 2>/dev/null || mktemp -d); \
	echo "go test: temporary files in $$d"; \
	TMPDIR=$$d HUB_SKIPS=$$d/skipped $(GO) test -count=1 ./...; rc=$$?; \
	if [ -s "$$d/skipped" ]; then \
		echo "*** BROWSER JOURNEYS SKIPPED ($$(wc -l <"$$d/skipped") tests): $$(cut -d: -f2- "$$d/skipped" | sort -u | paste -sd';' -)."; \
		echo "*** To run them: bash .ci/run installs chromium, axe-core and stripe-mock (or see README: make test)."; \
	fi; rm -rf "$$d"; exit $$rc

# Figures: builds of a generated site of N clients (default 10,000), its
# publishing to a local S3 server, the edge and nginx auth_request vs nginx.
bench: build
	$(GO) run ./cmd/hubbench -n $(N) -hub $(BIN)
	@echo "the edge's auth decision in-process (GET /_hub/auth, a signed-in cookie):"
	@$(GO) test ./edge -run '^$$' -bench BenchmarkAuth -benchtime 20000x | grep '^BenchmarkAuth'

# Run each fuzz target for a while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./generator/site -run '^$$' -fuzz FuzzLoadYAML -fuzztime $(FUZZTIME)
	$(GO) test ./generator/site -run '^$$' -fuzz FuzzFrontMatter -fuzztime $(FUZZTIME)
	$(GO) test ./generator/money -run '^$$' -fuzz FuzzParseDecimal -fuzztime $(FUZZTIME)
	$(GO) test ./generator/bundle -run '^$$' -fuzz FuzzReadManifest -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzDecodeSignature -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzRequestForm -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzPendingID -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzSniffPhoto -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzAuthTarget -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzPolicyExpiry -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzSafeNext -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzReplyAddress -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzStripQuoted -fuzztime $(FUZZTIME)
	$(GO) test ./edge -run '^$$' -fuzz FuzzReadReply -fuzztime $(FUZZTIME)
	$(GO) test ./edge/stripepay -run '^$$' -fuzz FuzzParseWebhook -fuzztime $(FUZZTIME)
	$(GO) test ./edge/stripepay -run '^$$' -fuzz FuzzParseSubscriptionObjects -fuzztime $(FUZZTIME)
	$(GO) test ./edge/testcheckout -run '^$$' -fuzz FuzzHandler -fuzztime $(FUZZTIME)

check: build
	./$(BIN) check -content content

# Regenerate golden files after an intended change to the output.
golden:
	$(GO) test ./generator -run TestGolden -update

clean:
	rm -rf bin public public.d
