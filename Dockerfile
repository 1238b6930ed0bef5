# syntax=docker/dockerfile:1
#
# ferry's container image: a static (musl) ferry, CA certificates, and busybox for GitLab's docker
# executor (which needs a shell). No package manager, no compiler. Runs as root, as GitHub's
# container actions require.
#
# Two ways to fill it, one final layout:
#   compiled here (default): ferry from source, busybox + CA certificates from Debian.
#     docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/ferry-dev/ferry:X.Y.Z .
#   prepared on the host, for machines without registry access (what .ci/image does):
#     buildah bud --build-arg FILES=context-files -f Dockerfile dist/
#   where dist/ holds ferry (static), busybox (static) and ca-certificates.crt.

ARG RUST_VERSION=1.88
# Where the image's files come from: `files` (compiled here) or `context-files` (the host's).
ARG FILES=files

# ---- compile ferry statically ------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN TARGET="$(uname -m)-unknown-linux-musl" \
 && rustup target add "$TARGET" \
 && cargo build --release --locked --target "$TARGET" \
 && mkdir -p /out \
 && cp "target/$TARGET/release/ferry" /out/ferry

# ---- busybox and CA certificates from Debian --------------------------------------------------
FROM debian:bookworm-slim AS files
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox-static ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /out \
 && cp /bin/busybox /out/busybox \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt
COPY --from=build /out/ferry /out/ferry

# ---- the same files, prepared on the host (no registry needed) --------------------------------
FROM scratch AS context-files
COPY ferry busybox ca-certificates.crt /out/

# ---- the image ---------------------------------------------------------------------------------
# hadolint ignore=DL3006
FROM ${FILES} AS source

FROM scratch AS release
COPY --from=source /out/busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /usr/local/bin /etc/ssl/certs && chmod 1777 /tmp"]
COPY --from=source /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=source /out/ferry /usr/local/bin/ferry
ENV PATH=/usr/local/bin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ferry" \
      org.opencontainers.image.description="Build and deploy through your platform's API from CI, and report where people look." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/ferry-dev/ferry"
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["--help"]
