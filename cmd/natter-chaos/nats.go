package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The test reads the NATS cluster's state from each server's monitoring
// endpoint (/jsz, /healthz), not through nats.go: broker/ stays the only
// importer of nats, and a hung server simply does not answer.

const roomsStream = "ROOMS" // broker.StreamName

// streamView is what one server's /jsz says about the ROOMS stream.
type streamView struct {
	Leader   string
	Replicas []struct {
		Name    string `json:"name"`
		Current bool   `json:"current"`
		Offline bool   `json:"offline"`
	}
}

// current reports whether the view lists every other replica as caught up.
func (v streamView) current(peers int) bool {
	if len(v.Replicas) != peers {
		return false
	}
	for _, r := range v.Replicas {
		if !r.Current || r.Offline {
			return false
		}
	}
	return true
}

// leaderView asks node i whether it leads ROOMS; ok is false when it does
// not, or does not answer within a second.
func (cl *cluster) leaderView(ctx context.Context, i int) (v streamView, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", cl.natsMon[i]+"/jsz?streams=true&stream-leader-only=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return v, false
	}
	defer resp.Body.Close()
	var jsz struct {
		Accounts []struct {
			Streams []struct {
				Name    string `json:"name"`
				Cluster streamView
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&jsz) != nil {
		return v, false
	}
	for _, a := range jsz.Accounts {
		for _, s := range a.Streams {
			if s.Name == roomsStream && s.Cluster.Leader == cl.nats[i].name {
				return s.Cluster, true
			}
		}
	}
	return v, false
}

// roomsLeader returns the index of the node that leads ROOMS among those
// not in skip, or -1 if none says so.
func (cl *cluster) roomsLeader(ctx context.Context, skip ...int) int {
next:
	for i := range cl.nats {
		for _, s := range skip {
			if s == i {
				continue next
			}
		}
		if _, ok := cl.leaderView(ctx, i); ok {
			return i
		}
	}
	return -1
}

// nodeName is node i's name, "none" for -1.
func (cl *cluster) nodeName(i int) string {
	if i < 0 {
		return "none"
	}
	return cl.nats[i].name
}

// waitLeader polls the nodes not in skip until one leads ROOMS.
func (cl *cluster) waitLeader(ctx context.Context, d time.Duration, skip ...int) (int, error) {
	deadline := time.Now().Add(d)
	for {
		if i := cl.roomsLeader(ctx, skip...); i >= 0 {
			return i, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return -1, fmt.Errorf("no ROOMS leader among the running nodes after %v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitCurrent polls until every node's /healthz is 200 and the ROOMS
// leader lists both other replicas as current: the cluster is whole again.
func (cl *cluster) waitCurrent(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		healthy := true
		for _, u := range cl.natsMon {
			healthy = healthy && waitHTTP(ctx, u+"/healthz", time.Second) == nil
		}
		if healthy {
			for i := range cl.nats {
				if v, ok := cl.leaderView(ctx, i); ok && v.current(len(cl.nats)-1) {
					return nil
				}
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the NATS cluster was not whole and current again within %v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
