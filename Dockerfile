# Release image for `duban serve`. Build: docker build -t duban .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin duban

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app duban \
    && mkdir -p /app/data && chown duban /app/data
COPY --from=build /src/target/release/duban /usr/local/bin/duban
COPY config /app/config
WORKDIR /app
ENV APP_ENV=production DUBAN_CONFIG_DIR=/app/config
USER duban
EXPOSE 8080
CMD ["duban", "serve", "--bind", "0.0.0.0:8080"]
