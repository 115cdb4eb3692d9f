# A BlockChat node image that needs no registry: nothing but one statically linked binary.
# Build it with `bash docker/build.sh` (it builds the binary first, then this image).
FROM scratch
COPY target/static/x86_64-unknown-linux-gnu/release/blockchat /blockchat
# Peers on 7000, the API (JSON-RPC, events, metrics, explorer) on 7001; data in /data (the
# API's .cookie too, unless BLOCKCHAT_API_PASSWORD is set).
EXPOSE 7000 7001
VOLUME ["/data"]
ENTRYPOINT ["/blockchat"]
CMD ["--help"]
