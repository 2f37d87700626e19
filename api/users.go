package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/locales"
)

const usersUsage = `usage: api users COMMAND [flags]
  create -username NAME -roles ROLE[,ROLE] -display-name TEXT [-org ID]     password on standard input
  list [-org ID]
  reset-password -username NAME [-org ID]                                     password on standard input
  disable -username NAME [-org ID]
Roles: caseworker, supervisor, content_editor, admin, auditor. The database is the one the service
uses (MONGODB_URI, or the embedded one in DATA_DIR, also while the service runs); it must exist
already (these commands never create one) and the one used is printed on standard error.`

// usersCommand manages users from a shell, as an administrator of the organisation (-org, default
// "default"). Passwords are read from stdin (first line), never from arguments. Each change is
// recorded in the audit log with the actor "cli". It returns an error for bad usage, an invalid
// configuration, an unreachable database or a refused change. New password hashes cost password
// (zero: identity.DefaultPasswordParams(); tests pass cheaper ones).
func usersCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, password identity.PasswordParams) error {
	if len(args) == 0 {
		return errors.New(usersUsage)
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	org := fs.String("org", "default", "organisation id")
	username := fs.String("username", "", "user name")
	roles := fs.String("roles", "", "comma-separated roles")
	displayName := fs.String("display-name", "", "display name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if missing := missingFlags(cmd, map[string]string{"username": *username, "roles": *roles, "display-name": *displayName}); len(missing) > 0 {
		return fmt.Errorf("users %s needs %s\n%s", cmd, strings.Join(missing, ", "), usersUsage)
	}
	if *org == "" || *org == audit.DeploymentLog {
		return fmt.Errorf("-org %q is not an organisation id one can use", *org)
	}
	cfg, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, closeDB, err := openExisting(ctx, cfg, stderr, log)
	if err != nil {
		return err
	}
	defer closeDB()
	sec, err := newSecurity(ctx, cfg, db, password)
	if err != nil {
		return err
	}
	defer sec.flush(log) // before the database closes
	operator := identity.Principal{UserID: "cli", Username: "cli", OrgID: *org, Roles: []identity.Role{identity.RoleAdmin}}
	ids := sec.identity

	switch cmd {
	case "create":
		password, err := readPassword(stdin)
		if err != nil {
			return err
		}
		var rs []identity.Role
		for _, r := range strings.Split(*roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs = append(rs, identity.Role(r))
			}
		}
		if err := ids.EnsureOrganisation(ctx, *org, *org); err != nil {
			return err
		}
		u, err := ids.CreateUser(ctx, operator, identity.NewUser{Username: *username, DisplayName: *displayName, Roles: rs, Password: password})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created user %s (%s) in %s\n", u.Username, u.ID, u.OrgID)
	case "list":
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tUSERNAME\tROLES\tDISABLED")
		after := ""
		for {
			page, err := ids.ListUsers(ctx, operator, after, 200)
			if err != nil {
				return describe(err)
			}
			for _, u := range page.Users {
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\n", u.ID, u.Username, joinRoles(u.Roles), u.Disabled)
			}
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		return w.Flush()
	case "reset-password", "disable":
		u, err := findUser(ctx, ids, operator, *username)
		if err != nil {
			return err
		}
		if cmd == "disable" {
			disabled := true
			if _, err := ids.UpdateUser(ctx, operator, u.ID, identity.UserUpdate{Disabled: &disabled}, u.Version); err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "disabled %s\n", u.Username)
			return nil
		}
		password, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if _, err := ids.ResetPassword(ctx, operator, u.ID, password); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "reset the password of %s; their sessions have ended\n", u.Username)
	default:
		return fmt.Errorf("unknown users command %q\n%s", cmd, usersUsage)
	}
	return nil
}

func findUser(ctx context.Context, ids *identity.Service, operator identity.Principal, username string) (identity.User, error) {
	name := identity.NormalizeUsername(username)
	after := ""
	for {
		page, err := ids.ListUsers(ctx, operator, after, 200)
		if err != nil {
			return identity.User{}, describe(err)
		}
		for _, u := range page.Users {
			if u.Username == name {
				return u, nil
			}
		}
		if page.Next == "" {
			return identity.User{}, fmt.Errorf("no user %q in organisation %s", username, operator.OrgID)
		}
		after = page.Next
	}
}

// missingFlags lists the required flags of command cmd that are empty.
func missingFlags(cmd string, values map[string]string) []string {
	required := map[string][]string{"create": {"username", "roles", "display-name"}, "reset-password": {"username"}, "disable": {"username"}}
	var missing []string
	for _, name := range required[cmd] {
		if strings.TrimSpace(values[name]) == "" {
			missing = append(missing, "-"+name)
		}
	}
	return missing
}

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

func joinRoles(roles []identity.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// describe turns a refused change into an English sentence with its field errors, as the API would
// phrase it.
func describe(err error) error {
	e := apperr.As(err)
	if e == nil {
		var d identity.Denial
		if errors.As(err, &d) {
			return fmt.Errorf("%s", d.Code())
		}
		return err
	}
	cat, cerr := i18n.New(locales.FS)
	if cerr != nil {
		return err
	}
	msg := cat.Message(i18n.SourceLocale, e.MessageID, e.Data)
	for _, f := range e.Fields {
		data := map[string]any{"Field": cat.Message(i18n.SourceLocale, "fieldname."+f.Field, nil)}
		for k, v := range f.Data {
			data[k] = v
		}
		msg += "\n  " + f.Field + " (" + f.Code + "): " + cat.Message(i18n.SourceLocale, f.MessageID, data)
	}
	return errors.New(msg)
}
