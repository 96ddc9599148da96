package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hubhq/hub/generator/bundle"
)

// cmdUploads lists the files clients added to portals, or imports one
// into the portal's documents in the content.
func cmdUploads(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "import" {
		return cmdUploadsImport(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("uploads", stderr)
	ef := addEdgeFlags(fs, nil)
	client := fs.String("client", "", "only this client's uploads")
	limit := fs.Int("n", 100, "how many to list, newest first")
	st, err := listingStore(fs, ef, args)
	if err != nil {
		return err
	}
	defer st.Close()
	us, err := st.Uploads(ctx, *client, *limit)
	if err != nil {
		return err
	}
	if len(us) == 0 {
		fmt.Fprintln(stdout, "No uploads.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDED\tCLIENT\tPORTAL\tFROM\tSIZE\tTYPE\tFILE")
	for _, u := range us {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, when(u.At), u.ClientID, u.Portal, u.Email, sizeText(u.File.Size), u.File.Type, u.File.Name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nCopy one into the portal's documents (then commit it): hub uploads import CLIENT ID")
	return nil
}

func sizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// cmdUploadsImport copies an upload into its portal's documents folder,
// never over a file there.
func cmdUploadsImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("uploads import", stderr)
	ef := addEdgeFlags(fs, nil)
	content := fs.String("content", "content", "content folder")
	pos, err := parseArgs(fs, args, 2, "CLIENT UPLOAD-ID")
	if err != nil {
		return err
	}
	st, err := openStore(*ef.state)
	if err != nil {
		return err
	}
	defer st.Close()
	client, id := pos[0], strings.ToUpper(pos[1])
	us, err := st.Uploads(ctx, client, 1<<30)
	if err != nil {
		return err
	}
	var found bool
	for _, u := range us {
		if u.ID != id {
			continue
		}
		found = true
		portal := filepath.Join(*content, "clients", client, "portals", u.Portal)
		if _, err := os.Stat(filepath.Join(portal, "portal.md")); err != nil {
			return fmt.Errorf("upload %s is for portal %q, which %s lacks: restore the portal folder first", id, u.Portal, filepath.Join(*content, "clients", client, "portals"))
		}
		b, err := os.ReadFile(u.File.Path)
		if err != nil {
			return fmt.Errorf("upload %s: %w (run the import where the edge keeps its uploads)", id, err)
		}
		dir := filepath.Join(portal, "documents")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		file := filepath.Join(dir, u.File.Name)
		if err := writeNew(file, b); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\ncommit it, and the portal lists it under Documents after the next build\n", file)
		return nil
	}
	if !found {
		return fmt.Errorf("no upload %s for client %s (hub uploads -client %s lists them)", id, client, client)
	}
	return nil
}

// writeNew writes b to a new file name, synced, refusing to replace one.
func writeNew(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists already: move it aside or rename it, then import again", name)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	return bundle.SyncDir(filepath.Dir(name))
}
