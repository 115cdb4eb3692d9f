# A BlockChat node image that needs no registry: nothing but one statically linked binary.
# Build it with `bash docker/build.sh` (it builds the binary first, then this image).
FROM scratch
COPY target/static/x86_64-unknown-linux-gnu/release/blockchat /blockchat
# Peers on 7000, the control endpoint on 7001; data in /data.
EXPOSE 7000 7001
VOLUME ["/data"]
ENTRYPOINT ["/blockchat"]
CMD ["--help"]
