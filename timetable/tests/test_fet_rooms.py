"""FET home rooms are read as FET applies them.

FET applies a students set's (teacher's) home room only to the activities whose only students set
(only teacher) it is, and only to activities without a hard preferred-room constraint of their own;
reading them as plain room restrictions made activities of several classes, or with a subject room,
impossible to place.
"""

from timetable.engine import evaluate, fet, solve

FET = """<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Institution_Name>Rooms</Institution_Name>
<Days_List><Number_of_Days>2</Number_of_Days><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day></Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours>
<Hour><Name>h1</Name></Hour><Hour><Name>h2</Name></Hour><Hour><Name>h3</Name></Hour></Hours_List>
<Subjects_List><Subject><Name>Math</Name></Subject><Subject><Name>PE</Name></Subject></Subjects_List>
<Teachers_List><Teacher><Name>T1</Name></Teacher><Teacher><Name>T2</Name></Teacher></Teachers_List>
<Students_List>
<Year><Name>A</Name><Number_of_Students>20</Number_of_Students></Year>
<Year><Name>B</Name><Number_of_Students>20</Number_of_Students></Year>
</Students_List>
<Activities_List>
<Activity><Teacher>T1</Teacher><Subject>Math</Subject><Students>A</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>1</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T1</Teacher><Subject>Math</Subject><Students>A</Students><Students>B</Students>
  <Duration>1</Duration><Total_Duration>1</Total_Duration><Id>2</Id><Activity_Group_Id>0</Activity_Group_Id>
  <Active>true</Active></Activity>
<Activity><Teacher>T2</Teacher><Subject>PE</Subject><Students>A</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
</Activities_List>
<Buildings_List></Buildings_List>
<Rooms_List>
<Room><Name>RA</Name><Building></Building><Capacity>40</Capacity><Virtual>false</Virtual></Room>
<Room><Name>RB</Name><Building></Building><Capacity>40</Capacity><Virtual>false</Virtual></Room>
<Room><Name>GYM</Name><Building></Building><Capacity>60</Capacity><Virtual>false</Virtual></Room>
</Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>
</Time_Constraints_List>
<Space_Constraints_List>
<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsorySpace>
<ConstraintStudentsSetHomeRoom><Weight_Percentage>100</Weight_Percentage><Students>A</Students><Room>RA</Room>
  <Active>true</Active></ConstraintStudentsSetHomeRoom>
<ConstraintStudentsSetHomeRoom><Weight_Percentage>100</Weight_Percentage><Students>B</Students><Room>RB</Room>
  <Active>true</Active></ConstraintStudentsSetHomeRoom>
<ConstraintSubjectPreferredRoom><Weight_Percentage>100</Weight_Percentage><Subject>PE</Subject><Room>GYM</Room>
  <Active>true</Active></ConstraintSubjectPreferredRoom>
</Space_Constraints_List>
</fet>
"""


def test_home_rooms_apply_as_in_fet():
    imp = fet.parse_fet(FET)
    p = imp.problem
    rooms = {c.id: c.allowed_rooms for c in p.courses}
    math_a = next(c for c in p.courses if c.groups == ("A",) and "Math" in c.name)
    math_ab = next(c for c in p.courses if set(c.groups) == {"A", "B"})
    pe = next(c for c in p.courses if "PE" in c.name)
    assert rooms[math_a.id] == {"RA"}  # only students set A: its home room
    assert rooms[math_ab.id] is None  # A and B: neither home room applies
    assert rooms[pe.id] == {"GYM"}  # its own preferred room wins over A's home room
    res = solve(p, "auto", time_limit=5, seed=1)
    assert res.feasible and not evaluate(p, res.solution).hard
