"""The one PLAY RECAP parser the tests and benches count tasks and changes with."""

from play_recap import play_recap

OUTPUT = """
PLAY RECAP *********************************************************************
cp1                        : ok=12   changed=3    unreachable=0    failed=0    skipped=4    rescued=0    ignored=0
localhost                  : ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
w1                         : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""


def test_every_host_line_is_read_with_its_counts():
    recap = play_recap(OUTPUT)
    assert sorted(recap) == ["cp1", "localhost", "w1"]
    assert (recap["cp1"].ok, recap["cp1"].changed, recap["cp1"].skipped, recap["cp1"].tasks) == (12, 3, 4, 16)
    assert recap["w1"].unreachable == 1 and recap["w1"].tasks == 0


def test_the_last_recap_of_a_host_wins_and_task_lines_are_not_recaps():
    second = OUTPUT.replace("changed=3", "changed=0")
    recap = play_recap("TASK [x : ok=1] ***\n" + OUTPUT + second)
    assert recap["cp1"].changed == 0 and "TASK" not in recap


def test_no_recap_gives_no_hosts():
    assert play_recap("ERROR! the playbook could not be found") == {}
