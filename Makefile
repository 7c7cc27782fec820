# make test   installs what the tests need, checks the code and runs every test,
#             integration tests included (LAMBDAWS_INTEGRATION=1 turns a missing
#             component into a failure instead of a skip).
# make bench  runs the benchmarks, then the side-by-side management-API
#             benchmarks (bench-peers, bench-quota); results go to BENCHMARKS.md by hand.

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test check deps bench bench-peers bench-quota fuzz

# The tests run without the variables a developer machine may have and
# Lambda does not; a test that needs one sets it itself.
test: deps check
	env -u AWS_CA_BUNDLE -u AWS_PROFILE -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
		LAMBDAWS_INTEGRATION=1 $(GO) test -race -timeout 20m ./...

check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff
	scripts/check-tracked.sh

deps:
	scripts/deps.sh

bench: deps
	LAMBDAWS_INTEGRATION=1 $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...
	$(MAKE) bench-peers
	$(MAKE) bench-quota

# lambdaws Broadcast, the AWS JS SDK v3 Promise.all pattern and a boto3 loop,
# each a process, against one HTTPS stand-in for the management API.
bench-peers: deps
	scripts/bench-peers.sh

# Broadcast at the account's quota: lambdaws with and without pacing and the
# JS SDK Promise.all pattern against a token-bucket stand-in (429 when empty),
# then 1,000,000 streamed ids at 10,000 rps. Takes about 5 minutes.
bench-quota: deps
	scripts/bench-quota.sh

# Fuzz every parser for FUZZTIME each (make test runs their seed corpora);
# `make -k fuzz` runs the rest when one fails. Minimising each new input is
# capped at FUZZMINIMIZETIME (go's default is 60s), so that fuzzers spend
# their time fuzzing: with 10s FuzzFrameScanner, whose inputs grow from a
# 32 KiB seed, ran 6,219 inputs in 10s, with 2s 32,322.
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 2s
FUZZERS := registry.FuzzEvaluate ws.FuzzHandler sender.FuzzResolveEndpoint \
	local.FuzzParsePath local.FuzzFrameScanner local.FuzzWildcardMatch grip.FuzzDecodeEvents grip.FuzzVerify grip.FuzzSourceIP grip.FuzzNewPublisher \
	cmd/lambdaws/internal/sam.FuzzParse
.PHONY: $(FUZZERS)
fuzz: $(FUZZERS)
$(FUZZERS):
	$(GO) test -run '^$$' -fuzz '^$(patsubst .%,%,$(suffix $@))$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./$(basename $@)
