-- The queue's counts per filter value (GET /v1/cases/counts, the console's queue and its
-- refresh), kept by triggers: reading them costs a few dozen rows however many cases there
-- are. Per facet (status, priority, trigger, assignee, scenario, rule), value ('' for none)
-- and the counted cases' status, so any set of statuses is a sum. Rows may hold 0.
CREATE TABLE queue_tally (
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (facet, value, status)
);
INSERT INTO queue_tally (facet, value, status, n)
    SELECT 'status', cases.status, status, count(*) FROM cases GROUP BY cases.status, status;
INSERT INTO queue_tally (facet, value, status, n)
    SELECT 'priority', CAST(cases.priority AS TEXT), status, count(*) FROM cases GROUP BY CAST(cases.priority AS TEXT), status;
INSERT INTO queue_tally (facet, value, status, n)
    SELECT 'trigger', coalesce(cases.trigger, ''), status, count(*) FROM cases GROUP BY coalesce(cases.trigger, ''), status;
INSERT INTO queue_tally (facet, value, status, n)
    SELECT 'assignee', coalesce(cases.assignee, ''), status, count(*) FROM cases GROUP BY coalesce(cases.assignee, ''), status;
INSERT INTO queue_tally (facet, value, status, n)
    SELECT 'scenario', coalesce(cases.scenario, ''), status, count(*) FROM cases GROUP BY coalesce(cases.scenario, ''), status;
INSERT INTO queue_tally (facet, value, status, n)
    SELECT 'rule', r.rule, c.status, count(*) FROM case_rules r JOIN cases c ON c.id = r.case_id GROUP BY r.rule, c.status;

CREATE TRIGGER queue_tally_case_added AFTER INSERT ON cases BEGIN
    INSERT INTO queue_tally (facet, value, status, n) VALUES ('status', NEW.status, NEW.status, 1), ('priority', CAST(NEW.priority AS TEXT), NEW.status, 1), ('trigger', coalesce(NEW.trigger, ''), NEW.status, 1), ('assignee', coalesce(NEW.assignee, ''), NEW.status, 1), ('scenario', coalesce(NEW.scenario, ''), NEW.status, 1)
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER queue_tally_case_changed AFTER UPDATE OF status, priority, trigger, assignee, scenario ON cases
WHEN OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority OR OLD.trigger IS NOT NEW.trigger OR OLD.assignee IS NOT NEW.assignee OR OLD.scenario IS NOT NEW.scenario BEGIN
    INSERT INTO queue_tally (facet, value, status, n) VALUES ('status', OLD.status, OLD.status, -1), ('priority', CAST(OLD.priority AS TEXT), OLD.status, -1), ('trigger', coalesce(OLD.trigger, ''), OLD.status, -1), ('assignee', coalesce(OLD.assignee, ''), OLD.status, -1), ('scenario', coalesce(OLD.scenario, ''), OLD.status, -1)
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO queue_tally (facet, value, status, n) VALUES ('status', NEW.status, NEW.status, 1), ('priority', CAST(NEW.priority AS TEXT), NEW.status, 1), ('trigger', coalesce(NEW.trigger, ''), NEW.status, 1), ('assignee', coalesce(NEW.assignee, ''), NEW.status, 1), ('scenario', coalesce(NEW.scenario, ''), NEW.status, 1)
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER queue_tally_case_moved AFTER UPDATE OF status ON cases WHEN OLD.status IS NOT NEW.status BEGIN
    INSERT INTO queue_tally (facet, value, status, n)
        SELECT 'rule', rule, OLD.status, -1 FROM case_rules WHERE case_id = OLD.id
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO queue_tally (facet, value, status, n)
        SELECT 'rule', rule, NEW.status, 1 FROM case_rules WHERE case_id = NEW.id
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER queue_tally_case_removed AFTER DELETE ON cases BEGIN
    INSERT INTO queue_tally (facet, value, status, n) VALUES ('status', OLD.status, OLD.status, -1), ('priority', CAST(OLD.priority AS TEXT), OLD.status, -1), ('trigger', coalesce(OLD.trigger, ''), OLD.status, -1), ('assignee', coalesce(OLD.assignee, ''), OLD.status, -1), ('scenario', coalesce(OLD.scenario, ''), OLD.status, -1)
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO queue_tally (facet, value, status, n)
        SELECT 'rule', rule, OLD.status, -1 FROM case_rules WHERE case_id = OLD.id
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
END;
-- a rule's row counts with its case's status; one whose case is gone was uncounted with it
CREATE TRIGGER queue_tally_rule_added AFTER INSERT ON case_rules BEGIN
    INSERT INTO queue_tally (facet, value, status, n)
        SELECT 'rule', NEW.rule, status, 1 FROM cases WHERE id = NEW.case_id
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER queue_tally_rule_removed AFTER DELETE ON case_rules BEGIN
    INSERT INTO queue_tally (facet, value, status, n)
        SELECT 'rule', OLD.rule, status, -1 FROM cases WHERE id = OLD.case_id
        ON CONFLICT (facet, value, status) DO UPDATE SET n = n + excluded.n;
END;
