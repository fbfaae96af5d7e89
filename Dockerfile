# Multi-stage build: a static natter binary on a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# /data must belong to the nonroot user: a named volume takes the owner of
# the image's directory on first use.
RUN mkdir /data-dir
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/natter-chat/natter.Version=${VERSION}" -o /natter ./cmd/natter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /natter /natter
COPY --from=build --chown=65532:65532 /data-dir /data
USER nonroot:nonroot
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/natter"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--data", "/data"]
